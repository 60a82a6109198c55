// One measurement in a process of its own: N messages, each a run, through a trigger and
// ten nodes, with run tracking on or off. Prints one JSON line.
//   node bench/tracking.js on|off [messages]
const { startRuntime } = require("../test/support/runtime");

async function main() {
  const mode = process.argv[2];
  const messages = Number(process.argv[3] || 10000);
  const done = { count: 0, resolve: null };
  const rt = await startRuntime({
    functionGlobalContext: { done },
    // Every run may start at once: this measures tracking, not the queue.
    patchworks: { runs: { enabled: mode === "on", maxConcurrent: 1e9, maxQueued: 1e9 } },
  });
  const chain = Array.from({ length: 9 }, (_, i) => ({
    id: `c${i}`, type: "change", z: "b", rules: [{ t: "set", p: `step${i}`, pt: "msg", to: String(i), tot: "num" }], wires: [[i < 8 ? `c${i + 1}` : "end"]],
  }));
  await rt.deploy([
    { id: "b", type: "tab", label: "bench" },
    { id: "trig", type: "pw-trigger", z: "b", name: "bench", schedules: [], concurrency: 0, wires: [["c0"]] },
    ...chain,
    { id: "end", type: "function", z: "b", func: "const d = global.get('done'); if (++d.count === d.total) d.resolve(); return null;", outputs: 0, wires: [] },
  ]);
  if (mode === "noop") {
    // The cost of Node-RED's hook machinery alone: the same five hooks, doing nothing.
    for (const h of ["onSend", "preDeliver", "onReceive", "postReceive", "onComplete"]) rt.RED.hooks.add(`${h}.bench`, (_event) => {});
  }
  const trigger = rt.RED.nodes.getNode("trig");
  async function round(n) {
    done.count = 0;
    done.total = n;
    const finished = new Promise((resolve) => (done.resolve = resolve));
    const start = process.hrtime.bigint();
    for (let i = 0; i < n; i++) trigger.receive({ payload: { id: i, sku: `SKU-${i}`, qty: i % 5 } });
    await finished;
    return Number(process.hrtime.bigint() - start) / 1e6;
  }
  await round(2000); // warm-up
  const times = [];
  for (let i = 0; i < 3; i++) times.push(await round(messages));
  times.sort((a, b) => a - b);
  const heap = process.memoryUsage().heapUsed;
  // What stays once garbage is gone: the run store's index, for one.
  if (global.gc) global.gc();
  if (process.env.HEAPSNAP) require("v8").writeHeapSnapshot(process.env.HEAPSNAP);
  const retained = process.memoryUsage().heapUsed;
  console.log(JSON.stringify({ mode, messages, nodes: 10, ms: times[1], heapMB: Math.round(heap / 1048576), retainedMB: Math.round(retained / 1048576) }));
  await rt.stop();
  process.exit(0);
}
main().catch((err) => {
  console.error(err);
  process.exit(1);
});
