// The soak's burst scenario (`npm run soak -- burst`): 2,000 webhooks posted 50 at a time
// from another process (bench/load.js) to a runtime at its default settings (at most 1,000
// runs waiting, 429 with Retry-After: 30 beyond). The flow is the cheapest there is: a
// trigger's webhook, answered with its run id once the run is on disk, → a function node
// that records the run id. The load sends a webhook answered 429 again after its Retry-After,
// capped at SOAK_RETRY_CAP_MS (default 500 ms) so the soak ends. Prints what was answered,
// what ran and what was recorded: every acknowledged run recorded with a final status, none
// lost, none run twice.
//   SOAK_WEBHOOKS (2000), SOAK_PARALLEL (50), SOAK_RETRY_CAP_MS (500)
const path = require("node:path");
const { execFile } = require("node:child_process");
const { startRuntime } = require("../test/support/runtime");
const { waitUntil } = require("../test/support/wait");
const { FINAL, allRuns, counts, report } = require("./soak-lib");

const WEBHOOKS = Number(process.env.SOAK_WEBHOOKS || 2000);
const PARALLEL = Number(process.env.SOAK_PARALLEL || 50);
const RETRY_CAP_MS = Number(process.env.SOAK_RETRY_CAP_MS || 500);

async function main() {
  const ran = [];
  const rt = await startRuntime({ functionGlobalContext: { ran } });
  await rt.deploy([
    { id: "b", type: "tab", label: "Burst" },
    {
      id: "hook",
      type: "pw-trigger",
      z: "b",
      name: "orders in",
      schedules: [],
      webhook: true,
      path: "/burst",
      methods: "POST",
      replyBody: '{"run":"{{run.id}}"}',
      wires: [["sink"]],
    },
    {
      id: "sink",
      type: "function",
      z: "b",
      func: "global.get('ran').push(msg.pw.run.id); return null;",
      outputs: 0,
      wires: [],
    },
  ]);
  console.log(
    `burst: ${WEBHOOKS} webhooks, ${PARALLEL} at a time, default settings; 429 retried after Retry-After capped at ${RETRY_CAP_MS} ms`,
  );
  const started = Date.now();
  const load = await new Promise((resolve, reject) =>
    execFile(
      process.execPath,
      [path.join(__dirname, "load.js"), `${rt.hooks}/burst`, String(WEBHOOKS), String(PARALLEL)],
      { maxBuffer: 64 << 20, env: { ...process.env, BENCH_RETRY_CAP_MS: String(RETRY_CAP_MS) } },
      (err, out) => (err ? reject(err) : resolve(JSON.parse(out.trim().split("\n").pop()))),
    ),
  );
  const answered = (test) =>
    Object.entries(load.statuses).reduce((n, [s, c]) => (test(Number(s)) ? n + c : n), 0);
  const acked = load.ids;
  // Every acknowledged run ends (or the wait gives up and the figures say what is missing).
  let runs = [];
  await waitUntil(
    async () => {
      runs = await allRuns(rt.url, "hook");
      const ended = new Set(runs.filter((r) => FINAL(r.status)).map((r) => r.id));
      return acked.every((id) => ended.has(id));
    },
    "the acknowledged runs to end",
    120000,
    250,
  ).catch(() => undefined);
  const seconds = (Date.now() - started) / 1000;
  const byId = new Map(runs.map((r) => [r.id, r]));
  const ranCount = counts(ran);
  const final = acked.filter((id) => byId.has(id) && FINAL(byId.get(id).status));
  const finalSet = new Set(final);
  const ackedSet = new Set(acked);
  const ok = report("burst", [
    ["webhooks sent", WEBHOOKS],
    ["answered 2xx (acknowledged)", answered((s) => s >= 200 && s < 300)],
    ["answered 429", answered((s) => s === 429)],
    ["  sent again after Retry-After", load.retried],
    [
      "  Retry-After given (s: times)",
      Object.entries(load.retryAfter)
        .map(([k, v]) => `${k}: ${v}`)
        .join(", ") || "-",
    ],
    ["answered otherwise (not acknowledged)", answered((s) => s < 200 || (s >= 300 && s !== 429))],
    ["acknowledged, recorded with a final status", final.length],
    ["  succeeded", final.filter((id) => byId.get(id).status === "succeeded").length],
    ["acknowledged but lost", acked.filter((id) => !finalSet.has(id) || !ranCount.has(id)).length, true],
    ["ran twice", [...ranCount.values()].filter((n) => n > 1).length, true],
    ["recorded but not acknowledged", runs.filter((r) => !ackedSet.has(r.id)).length],
    ["ack latency p50 / p99 (ms)", `${load.p50} / ${load.p99}`],
    ["seconds (first webhook to last run ended)", seconds],
  ]);
  await rt.stop();
  process.exit(ok ? 0 : 1);
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
