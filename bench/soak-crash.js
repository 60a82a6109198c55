// The soak's crash scenario (`npm run soak -- crash`): a runtime in a child process
// (test/support/child-runtime.js) at its default settings, a trigger's webhook → a function
// node that appends the run id to a file at once (synchronously, so what ran before a kill is
// on record) → a 50 ms delay. 2,000 webhooks are posted 50 at a time (a 429 is sent again
// after its Retry-After, capped at SOAK_RETRY_CAP_MS); once SOAK_KILL_AT are acknowledged
// the runtime is killed with SIGKILL, the rest of the burst is not sent, and the runtime is
// started again on the same user directory and left to drain. Prints what was acknowledged,
// what ran before and after, what was interrupted: nothing acknowledged lost, nothing left
// queued or running, nothing run twice.
//   SOAK_WEBHOOKS (2000), SOAK_PARALLEL (50), SOAK_KILL_AT (1000), SOAK_RETRY_CAP_MS (500)
const fs = require("node:fs");
const os = require("node:os");
const path = require("node:path");
const { spawn } = require("node:child_process");
const { waitUntil } = require("../test/support/wait");
const { FINAL, allRuns, counts, report } = require("./soak-lib");
const { crashFlow } = require("../test/support/crash-flow");

const WEBHOOKS = Number(process.env.SOAK_WEBHOOKS || 2000);
const PARALLEL = Number(process.env.SOAK_PARALLEL || 50);
const KILL_AT = Number(process.env.SOAK_KILL_AT || 1000);
const RETRY_CAP_MS = Number(process.env.SOAK_RETRY_CAP_MS || 500);
const child = path.join(__dirname, "..", "test", "support", "child-runtime.js");

const flows = crashFlow(50);

async function start(userDir) {
  const red = spawn(process.execPath, [child, userDir, "{}"], { stdio: ["ignore", "pipe", "pipe"] });
  let out = "";
  red.stdout.on("data", (d) => (out += d));
  red.stderr.on("data", (d) => (out += d));
  red.exited = new Promise((resolve) => red.once("exit", (code, signal) => resolve({ code, signal })));
  red.url = await waitUntil(() => /listening (\S+)/.exec(out)?.[1], `the runtime to start (${out})`, 60000);
  return red;
}

async function main() {
  const userDir = fs.mkdtempSync(path.join(os.tmpdir(), "pw-soak-crash-"));
  const sinkFile = path.join(userDir, "sink.txt");
  const ranCounts = () =>
    counts(fs.existsSync(sinkFile) ? fs.readFileSync(sinkFile, "utf8").split("\n").filter(Boolean) : []);
  console.log(
    `crash: ${WEBHOOKS} webhooks, ${PARALLEL} at a time, default settings, SIGKILL at ${KILL_AT} acknowledged; 429 retried after Retry-After capped at ${RETRY_CAP_MS} ms`,
  );

  let red = await start(userDir);
  const res = await fetch(`${red.url}/flows`, {
    method: "POST",
    headers: { "content-type": "application/json", "Node-RED-Deployment-Type": "full" },
    body: JSON.stringify(flows),
  });
  if (res.status !== 204) throw new Error(`deploy: ${res.status} ${await res.text()}`);
  await waitUntil(
    async () => (await fetch(`${red.url}/hooks/burst`, { method: "GET" })).status === 405,
    "the webhook route",
  );

  // The burst: until the kill, then every request still waiting for its answer is cut.
  const acked = [];
  let sent = 0;
  let refused = 0;
  let cut = 0;
  let killedAt;
  let next = 0;
  const post = (n) =>
    fetch(`${red.url}/hooks/burst`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ n }),
    });
  const worker = async () => {
    while (next < WEBHOOKS && killedAt === undefined) {
      const n = next++;
      try {
        sent++;
        let r = await post(n);
        while (r.status === 429) {
          refused++;
          const after = Number(r.headers.get("retry-after") ?? 0) * 1000;
          await new Promise((resolve) => setTimeout(resolve, Math.min(after, RETRY_CAP_MS)));
          r = await post(n);
        }
        if (r.status >= 200 && r.status < 300) {
          acked.push((await r.json()).run);
          if (acked.length >= KILL_AT && killedAt === undefined) {
            killedAt = Date.now();
            red.kill("SIGKILL");
          }
        }
      } catch {
        cut++; // the runtime is gone: no answer
        return;
      }
    }
  };
  const started = Date.now();
  await Promise.all(Array.from({ length: PARALLEL }, worker));
  await red.exited;
  const before = ranCounts();

  const restartedAt = Date.now();
  red = await start(userDir);
  const upAt = Date.now();
  let runs = [];
  await waitUntil(
    async () => {
      runs = await allRuns(red.url, "hook");
      return runs.every((r) => FINAL(r.status));
    },
    "the restarted runtime to drain",
    120000,
    250,
  ).catch(() => undefined);
  const drainedAt = Date.now();
  const after = ranCounts();
  const byId = new Map(runs.map((r) => [r.id, r]));
  const ackedSet = new Set(acked);
  const interrupted = (r) => r?.status === "failed" && /interrupted by a restart/.test(r.reason ?? "");
  const ackedInterrupted = acked.filter((id) => interrupted(byId.get(id)));
  const lost = acked.filter((id) => {
    const r = byId.get(id);
    return !r || !FINAL(r.status) || (!after.has(id) && !interrupted(r));
  });

  const ok = report("crash", [
    ["webhooks sent before the kill", sent],
    ["  answered 429 and sent again", refused],
    ["  cut by the kill (no answer)", cut],
    ["acknowledged", acked.length],
    ["  had run before the kill", acked.filter((id) => before.has(id)).length],
    [
      "  waiting at the kill, run after the restart (recovered)",
      acked.filter((id) => !before.has(id) && after.has(id)).length,
    ],
    ["  interrupted by a restart (failed, can be retried)", ackedInterrupted.length],
    ["    of which had reached the first node", ackedInterrupted.filter((id) => before.has(id)).length],
    ["  succeeded", acked.filter((id) => byId.get(id)?.status === "succeeded").length],
    ["acknowledged but lost", lost.length, true],
    ["stuck queued or running after the drain", runs.filter((r) => !FINAL(r.status)).length, true],
    ["ran twice", [...after.values()].filter((n) => n > 1).length, true],
    [
      "recorded but not acknowledged (answer cut by the kill)",
      runs.filter((r) => !ackedSet.has(r.id)).length,
    ],
    ["seconds: burst to kill", ((killedAt ?? Date.now()) - started) / 1000],
    ["seconds: restart to listening", (upAt - restartedAt) / 1000],
    ["seconds: listening to drained", (drainedAt - upAt) / 1000],
  ]);
  red.kill("SIGTERM");
  await red.exited;
  fs.rmSync(userDir, { recursive: true, force: true });
  process.exit(ok ? 0 : 1);
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
