// Nothing acknowledged is lost, nothing finished runs again: a real runtime in a child
// process, killed with SIGKILL or stopped with SIGTERM during a webhook burst, then started
// again on the same user directory.
const assert = require("node:assert/strict");
const fs = require("node:fs");
const os = require("node:os");
const path = require("node:path");
const { spawn } = require("node:child_process");
const { waitUntil } = require("../support/wait");
const { crashFlow } = require("../support/crash-flow");

const child = path.join(__dirname, "..", "support", "child-runtime.js");
const settings = { patchworks: { runs: { maxConcurrent: 5, settleMs: 20 } } };
const flows = crashFlow(20);

describe("durable intake (a runtime killed or stopped during a burst)", function () {
  this.timeout(60000);
  let userDir;
  let red;

  async function start() {
    red = spawn(process.execPath, [child, userDir, JSON.stringify(settings)], {
      stdio: ["ignore", "pipe", "pipe"],
    });
    let out = "";
    red.stdout.on("data", (d) => (out += d));
    red.stderr.on("data", (d) => (out += d));
    red.exited = new Promise((resolve) => red.once("exit", (code, signal) => resolve({ code, signal })));
    red.url = await waitUntil(() => /listening (\S+)/.exec(out)?.[1], `the runtime to start (${out})`, 30000);
    return red;
  }

  async function deploy() {
    const res = await fetch(`${red.url}/flows`, {
      method: "POST",
      headers: { "content-type": "application/json", "Node-RED-Deployment-Type": "full" },
      body: JSON.stringify(flows),
    });
    assert.equal(res.status, 204);
    await waitUntil(
      async () => (await fetch(`${red.url}/hooks/burst`, { method: "GET" })).status === 405,
      "the webhook route",
    );
  }

  /**
   * Posts `count` webhooks, `parallel` at a time; calls `onAck` with the number acknowledged
   * after each. Resolves with the run ids answered 2xx (requests cut off by a kill are not).
   */
  async function burst(count, parallel, onAck = () => undefined) {
    const acked = [];
    let next = 0;
    const worker = async () => {
      while (next < count) {
        const n = next++;
        try {
          const res = await fetch(`${red.url}/hooks/burst`, {
            method: "POST",
            headers: { "content-type": "application/json" },
            body: JSON.stringify({ n }),
          });
          if (res.status >= 200 && res.status < 300) {
            acked.push((await res.json()).run);
            onAck(acked.length);
          }
        } catch {
          return; // the runtime is gone
        }
      }
    };
    await Promise.all(Array.from({ length: parallel }, worker));
    return acked;
  }

  const runs = async () => (await (await fetch(`${red.url}/pw/runs?trigger=hook&limit=1000`)).json()).runs;
  const ranCounts = () => {
    const counts = new Map();
    const file = path.join(userDir, "sink.txt");
    const lines = fs.existsSync(file) ? fs.readFileSync(file, "utf8").split("\n").filter(Boolean) : [];
    for (const id of lines) counts.set(id, (counts.get(id) ?? 0) + 1);
    return counts;
  };
  /** After the restart: every queued run has run, nothing is left queued or running. */
  const drained = () =>
    waitUntil(
      async () => {
        const list = await runs();
        return list.every((r) => r.status !== "queued" && r.status !== "running") && list;
      },
      "the resumed runs to finish",
      20000,
      100,
    );

  /** Every acknowledged run is recorded and ended; none ran twice; one that never ran was interrupted. */
  function assertExactlyOnce(acked, list) {
    const byId = new Map(list.map((r) => [r.id, r]));
    const counts = ranCounts();
    const lost = acked.filter((id) => !byId.has(id));
    assert.deepEqual(lost, [], "acknowledged runs missing from the run store");
    const twice = [...counts].filter(([, n]) => n > 1);
    assert.deepEqual(twice, [], "runs that ran more than once");
    for (const id of acked) {
      const run = byId.get(id);
      if (counts.get(id) === 1)
        assert.ok(["succeeded", "failed"].includes(run.status), `${id} ${run.status}`);
      else assert.match(run.reason ?? "", /interrupted by a restart/, `${id} never ran and is ${run.status}`);
    }
    return counts;
  }

  beforeEach(() => {
    userDir = fs.mkdtempSync(path.join(os.tmpdir(), "pw-intake-"));
  });
  afterEach(async () => {
    if (red && red.exitCode === null && red.signalCode === null) {
      red.kill("SIGKILL");
      await red.exited;
    }
    fs.rmSync(userDir, { recursive: true, force: true });
  });

  it("loses no acknowledged webhook and runs none twice when killed with SIGKILL mid-burst", async function () {
    await start();
    await deploy();
    let killed = false;
    const acked = await burst(300, 20, (n) => {
      if (n >= 120 && !killed) {
        killed = true;
        red.kill("SIGKILL");
      }
    });
    await red.exited;
    const beforeRestart = ranCounts().size;
    assert.ok(acked.length >= 120 && beforeRestart < acked.length, "killed with runs still waiting");
    await start();
    const list = await drained();
    const counts = assertExactlyOnce(acked, list);
    assert.ok(counts.size > beforeRestart, "queued runs were resumed after the restart");
  });

  it("stopped cleanly (SIGTERM) during a drain, resumes what waited and reruns nothing", async function () {
    await start();
    await deploy();
    const acked = await burst(150, 20);
    assert.equal(acked.length, 150);
    red.kill("SIGTERM");
    assert.deepEqual(await red.exited, { code: 0, signal: null });
    assert.ok(ranCounts().size < 150, "stopped with runs still waiting");
    await start();
    assertExactlyOnce(acked, await drained());
  });

  it("stopped cleanly after a drain, starts again without running any run a second time", async function () {
    await start();
    await deploy();
    const acked = await burst(100, 20);
    await waitUntil(
      async () => (await runs()).filter((r) => r.status === "succeeded").length === 100,
      "the drain",
    );
    red.kill("SIGTERM");
    assert.deepEqual(await red.exited, { code: 0, signal: null });
    await start();
    await deploy(); // a redeploy on top, as a user might
    await new Promise((r) => setTimeout(r, 300));
    const list = await drained();
    const counts = assertExactlyOnce(acked, list);
    assert.equal(counts.size, 100);
    assert.equal(list.filter((r) => r.status === "succeeded").length, 100);
  });
});
