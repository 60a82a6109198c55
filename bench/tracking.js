// One measurement in a process of its own: N messages, each a run, through a trigger and
// ten nodes, with run tracking on or off. Prints one JSON line.
//   node bench/tracking.js on|off|noop [messages] [window]
// window 0 sends every message at once (a burst: all runs live together); window W keeps W
// runs in flight, starting the next as one ends (a steady load, as a busy server sees).
const { startRuntime } = require("../test/support/runtime");

async function main() {
  const mode = process.argv[2];
  const messages = Number(process.argv[3] || 10000);
  const windowSize = Number(process.argv[4] || 0);
  const done = { count: 0, resolve: null, next: null };
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
    { id: "end", type: "function", z: "b", func: "const d = global.get('done'); if (++d.count === d.total) d.resolve(); else if (d.next) d.next(); return null;", outputs: 0, wires: [] },
  ]);
  if (mode.startsWith("noop")) {
    const hooks = mode === "noop3" ? ["onSend", "onReceive", "onComplete"] : mode === "noop2" ? ["onReceive", "onComplete"] : ["onSend", "preDeliver", "onReceive", "postReceive", "onComplete"];
    // The cost of Node-RED's hook machinery alone: the same five hooks, doing nothing.
    for (const h of hooks) rt.RED.hooks.add(`${h}.bench`, (_event) => {});
  }
  if (mode.startsWith("proto")) require("/tmp/proto.js")(rt.RED, require("os").tmpdir(), { hooks: mode === "proto5" ? 5 : 3 });
  const trigger = rt.RED.nodes.getNode("trig");
  async function round(n) {
    done.count = 0;
    done.total = n;
    const finished = new Promise((resolve) => (done.resolve = resolve));
    const start = process.hrtime.bigint();
    let sent = 0;
    const send = () => trigger.receive({ payload: { id: sent, sku: `SKU-${sent}`, qty: sent++ % 5 } });
    done.next = windowSize > 0 ? () => sent < n && send() : null;
    while (sent < (windowSize > 0 ? Math.min(windowSize, n) : n)) send();
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
  console.log(JSON.stringify({ mode, messages, window: windowSize, nodes: 10, ms: times[1], heapMB: Math.round(heap / 1048576), retainedMB: Math.round(retained / 1048576) }));
  await rt.stop();
  process.exit(0);
}
main().catch((err) => {
  console.error(err);
  process.exit(1);
});
