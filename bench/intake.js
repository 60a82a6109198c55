// The webhook intake workload, one measurement in a process of its own: a runtime with this
// package at its default settings, a trigger's webhook (acknowledged once its run is on
// disk) → one core change node; or Node-RED's own http in → change → http response, the
// core equivalent. The load comes from another process (bench/load.js) on loopback.
// Prints one JSON line: runs completed per second, acknowledgement latency, acknowledged vs
// recorded runs.
//   node bench/intake.js ours|core [requests] [parallel]
const fs = require("fs");
const path = require("path");
const { execFile } = require("child_process");
const { startRuntime } = require("../test/support/runtime");

async function main() {
  const mode = process.argv[2];
  const requests = Number(process.argv[3] || 10000);
  const parallel = Number(process.argv[4] || 50);
  // Default settings unless BENCH_RUNS (JSON of patchworks.runs) says otherwise, to compare.
  const rt = await startRuntime({ patchworks: { runs: JSON.parse(process.env.BENCH_RUNS || "{}") } });
  const change = (wires) => ({
    id: "touch",
    type: "change",
    z: "b",
    rules: [{ t: "set", p: "received", pt: "msg", to: "yes", tot: "str" }],
    wires,
  });
  const flows =
    mode === "core"
      ? [
          { id: "in", type: "http in", z: "b", url: "/intake", method: "post", wires: [["touch"]] },
          change([["out"]]),
          { id: "out", type: "http response", z: "b", statusCode: "200", wires: [] },
        ]
      : [
          {
            id: "hook",
            type: "pw-trigger",
            z: "b",
            name: "intake",
            schedules: [],
            webhook: true,
            path: "/intake",
            methods: "POST",
            replyBody: '{"run":"{{run.id}}"}',
            wires: [["touch"]],
          },
          change([]),
        ];
  await rt.deploy([{ id: "b", type: "tab", label: "bench" }, ...flows]);
  // When the flow's last node finished each message: a run is done then (its end is recorded a settle window later).
  const finished = [];
  rt.RED.hooks.add("onComplete.bench", (e) => {
    if (e.node.id === "touch") finished.push(Date.now());
  });
  const load = (n) =>
    new Promise((resolve, reject) =>
      execFile(
        process.execPath,
        [path.join(__dirname, "load.js"), `${rt.hooks}/intake`, String(n), String(parallel)],
        { maxBuffer: 64 << 20 },
        (err, out) => (err ? reject(err) : resolve(JSON.parse(out.trim().split("\n").pop()))),
      ),
    );
  await load(Math.min(2000, requests)); // warm-up
  await new Promise((r) => setTimeout(r, 1500));
  finished.length = 0;
  const cpu = process.cpuUsage();
  const r = await load(requests);
  const acked = Object.entries(r.statuses).reduce((n, [s, c]) => (s >= 200 && s < 300 ? n + c : n), 0);
  const until = Date.now() + 60000;
  while (finished.length < acked && Date.now() < until) await new Promise((res) => setTimeout(res, 20));
  const lastDone = finished.length ? finished[finished.length - 1] : r.endedAt;
  const seconds = (Math.max(lastDone, r.endedAt) - r.startedAt) / 1000;
  const used = process.cpuUsage(cpu);
  let recorded;
  if (mode !== "core") {
    // Every acknowledged run in the run store, ended: read back from its files once written.
    await new Promise((res) => setTimeout(res, 1000));
    const dir = path.join(rt.userDir, "patchworks", "runs");
    const ended = new Set();
    for (const f of fs.readdirSync(dir))
      for (const line of fs.readFileSync(path.join(dir, f), "utf8").split("\n"))
        if (line && /"status":"succeeded"/.test(line)) ended.add(JSON.parse(line).id);
    recorded = r.ids.filter((id) => ended.has(id)).length;
  }
  console.log(
    JSON.stringify({
      mode,
      requests,
      parallel,
      statuses: r.statuses,
      acknowledged: acked,
      recorded,
      completedPerSecond: Math.round(acked / seconds),
      ackP50Ms: r.p50,
      ackP99Ms: r.p99,
      cpuMsPerRun: Math.round(((used.user + used.system) / 1000 / acked) * 100) / 100,
      rssMB: Math.round(process.memoryUsage().rss / 1048576),
    }),
  );
  await rt.stop();
  process.exit(0);
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
