// Scale-out on Redis (issue 19), the run side: a Redis of the test's own and three Node-RED
// workers in processes of their own (test/support/child-runtime.js) on loopback ports, with the
// same flows and patchworks.scaleOut set. Each worker's `sink` global writes lines to its own
// user directory at once, so what ran where is on record even after a SIGKILL.
const assert = require("node:assert/strict");
const fs = require("node:fs");
const os = require("node:os");
const path = require("node:path");
const { spawn } = require("node:child_process");
const { waitUntil } = require("../support/wait");
const { startRedis } = require("../support/redis");
const { startFlaky, flakyConnector } = require("../fakes/flaky");

const child = path.join(__dirname, "..", "support", "child-runtime.js");
const LEASE_MS = 4000;
const PAGES = 8;
const PAGE_SIZE = 10;

function flows(flakyBase) {
  const sink = (id, z, line, wires = []) => ({
    id,
    type: "function",
    z,
    func: `global.get('sink')(${line}); return msg;`,
    outputs: 1,
    wires: [wires],
  });
  const delay = (id, z, ms, wires = []) => ({
    id,
    type: "delay",
    z,
    pauseType: "delay",
    timeout: String(ms),
    timeoutUnits: "milliseconds",
    rate: "1",
    nbRateUnits: "1",
    rateUnits: "second",
    randomFirst: "1",
    randomLast: "5",
    randomUnits: "seconds",
    drop: false,
    wires: [wires],
  });
  return [
    { id: "tb", type: "tab", label: "Burst" },
    {
      id: "hook",
      type: "pw-trigger",
      z: "tb",
      name: "orders in",
      schedules: [],
      webhook: true,
      path: "/burst",
      methods: "POST",
      concurrency: 2,
      replyBody: '{"run":"{{run.id}}"}',
      wires: [["b1"]],
    },
    sink("b1", "tb", "'start ' + msg.pw.run.id + ' ' + Date.now()", ["b2"]),
    delay("b2", "tb", 150, ["b3"]),
    sink("b3", "tb", "'end ' + msg.pw.run.id + ' ' + Date.now()"),

    {
      id: "wide",
      type: "pw-trigger",
      z: "tb",
      name: "events in",
      schedules: [],
      webhook: true,
      path: "/wide",
      methods: "POST",
      replyBody: '{"run":"{{run.id}}"}',
      wires: [["w1"]],
    },
    sink("w1", "tb", "'wstart ' + msg.pw.run.id + ' ' + Date.now()", ["w2"]),
    delay("w2", "tb", 300, ["w3"]),
    sink("w3", "tb", "'wend ' + msg.pw.run.id + ' ' + Date.now()"),

    { id: "ts", type: "tab", label: "Schedule" },
    {
      id: "tick",
      type: "pw-trigger",
      z: "ts",
      name: "every second",
      schedules: [{ type: "cron", cron: "* * * * * *" }],
      wires: [["s1"]],
    },
    sink("s1", "ts", "'tick ' + msg.schedule.at"),

    { id: "tl", type: "tab", label: "Slow" },
    { id: "slow", type: "pw-trigger", z: "tl", name: "slow run", schedules: [], wires: [["l1"]] },
    sink("l1", "tl", "'slow ' + msg.pw.run.id", ["l2"]),
    delay("l2", "tl", 20000),

    { id: "tf", type: "tab", label: "Parent and child" },
    { id: "parent", type: "pw-trigger", z: "tf", name: "parent flow", schedules: [], wires: [["f1"]] },
    {
      id: "f1",
      type: "pw-run-flow",
      z: "tf",
      trigger: "child",
      mode: "wait",
      timeoutSec: 20,
      wires: [["f2"]],
    },
    sink("f2", "tf", "'parent ' + msg.pw.run.id + ' ' + msg.runFlow.run + ' ' + JSON.stringify(msg.payload)"),
    { id: "child", type: "pw-trigger", z: "tf", name: "child flow", schedules: [], wires: [["c1"]] },
    sink("c1", "tf", "'child ' + msg.pw.run.id", ["c2"]),
    {
      id: "c2",
      type: "function",
      z: "tf",
      func: "msg.payload = { doubled: msg.payload.n * 2 }; return msg;",
      outputs: 1,
      wires: [["c3"]],
    },
    { id: "c3", type: "pw-callback", z: "tf", statusCode: 200, format: "json", headers: [], wires: [[]] },

    { id: "tp", type: "tab", label: "Pull" },
    { id: "up", type: "pw-instance", name: "Upstream", connector: "flaky", vars: { base: flakyBase } },
    { id: "pull", type: "pw-trigger", z: "tp", name: "pull items", schedules: [], wires: [["p1"]] },
    { id: "p1", type: "pw-connection", z: "tp", instance: "up", endpoint: "list-items", wires: [["p2"]] },
    sink("p2", "tp", "'page ' + msg.pw.run.id + ' ' + msg.pw.page.number", ["p3"]),
    { id: "p3", type: "pw-connection", z: "tp", instance: "up", endpoint: "create-items", wires: [[]] },
  ];
}

describe("scale-out on Redis: three workers share one run queue and one run log (runtime)", function () {
  this.timeout(120000);
  let redis;
  let flaky;
  const connectors = fs.mkdtempSync(path.join(os.tmpdir(), "pw-scale-connectors-"));
  const workers = {};
  const items = Array.from({ length: PAGES * PAGE_SIZE }, (_, i) => ({ id: i + 1 }));

  async function startWorker(name) {
    const userDir = workers[name]?.userDir ?? fs.mkdtempSync(path.join(os.tmpdir(), `pw-scale-${name}-`));
    fs.writeFileSync(path.join(userDir, "flows.json"), JSON.stringify(flows(flaky.base)));
    const settings = {
      patchworks: {
        connectorsDir: connectors,
        runs: { settleMs: 40, maxConcurrent: 6 },
        scaleOut: { redis: redis.url, prefix: "pwtest", workerId: name, leaseMs: LEASE_MS, drainMs: 3000 },
      },
    };
    const proc = spawn(process.execPath, [child, userDir, JSON.stringify(settings)], {
      stdio: ["ignore", "pipe", "pipe"],
    });
    let out = "";
    proc.stdout.on("data", (d) => (out += d));
    proc.stderr.on("data", (d) => (out += d));
    const exited = new Promise((resolve) => proc.once("exit", (code, signal) => resolve({ code, signal })));
    const url = await waitUntil(
      () => /listening (\S+)/.exec(out)?.[1],
      `worker ${name} to start (${out})`,
      30000,
    );
    workers[name] = { name, userDir, proc, url, exited, out: () => out };
    await waitUntil(
      async () => (await fetch(`${url}/hooks/burst`).catch(() => ({ status: 0 }))).status === 405,
      `worker ${name}'s webhook route`,
      20000,
    );
    return workers[name];
  }

  const api = async (w, method, route, body) => {
    const res = await fetch(`${w.url}${route}`, {
      method,
      headers: { "content-type": "application/json" },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    return { status: res.status, json: await res.json().catch(() => undefined) };
  };
  const lines = (name) => {
    const file = path.join(workers[name].userDir, "sink.txt");
    return fs.existsSync(file) ? fs.readFileSync(file, "utf8").split("\n").filter(Boolean) : [];
  };
  const allLines = () =>
    Object.keys(workers).flatMap((name) => lines(name).map((l) => ({ worker: name, l })));
  const run = async (w, id) => (await api(w, "GET", `/pw/runs/${id}`)).json?.run;
  const ended = (w, id, ms = 30000) =>
    waitUntil(
      async () => {
        const r = await run(w, id);
        return r && r.status !== "running" && r.status !== "queued" ? r : undefined;
      },
      `run ${id} to end`,
      ms,
      50,
    );

  /** The most runs going at once, from the start and end lines of all workers (one machine, one clock). */
  function mostAtOnce(startTag, endTag, ids) {
    const events = allLines()
      .map(({ l }) => l.split(" "))
      .filter(([kind, id]) => (kind === startTag || kind === endTag) && ids.includes(id))
      .map(([kind, , at]) => ({ start: kind === startTag, at: Number(at) }))
      .sort((a, b) => a.at - b.at || (a.start ? 1 : -1));
    let going = 0;
    let most = 0;
    for (const e of events) {
      going += e.start ? 1 : -1;
      most = Math.max(most, going);
    }
    return most;
  }

  async function burst(targets, count, { onAck, hook = "burst" } = {}) {
    const acked = [];
    await Promise.all(
      Array.from({ length: count }, async (_, n) => {
        const w = targets[n % targets.length];
        try {
          const res = await fetch(`${w.url}/hooks/${hook}`, {
            method: "POST",
            headers: { "content-type": "application/json" },
            body: JSON.stringify({ n }),
          });
          if (res.ok) {
            acked.push((await res.json()).run);
            onAck?.(acked.length);
          }
        } catch {
          // the worker is gone: not acknowledged
        }
      }),
    );
    return acked;
  }

  before(async function () {
    redis = await startRedis({ persist: true });
    flaky = await startFlaky({ records: items, pageDelayMs: 400 });
    fs.writeFileSync(
      path.join(connectors, "flaky.json"),
      JSON.stringify(flakyConnector({ pageSize: PAGE_SIZE, batch: PAGE_SIZE })),
    );
    await Promise.all(["A", "B", "C"].map(startWorker));
  });

  // A test that failed after killing a worker leaves it dead: the next test starts with three again.
  beforeEach(async function () {
    for (const w of Object.values(workers))
      if (w.proc.exitCode !== null || w.proc.signalCode !== null) await startWorker(w.name);
  });

  after(async function () {
    for (const w of Object.values(workers)) {
      if (w.proc.exitCode === null && w.proc.signalCode === null) w.proc.kill("SIGKILL");
      await w.exited;
      fs.rmSync(w.userDir, { recursive: true, force: true });
    }
    await redis?.close();
    await flaky?.close();
    fs.rmSync(connectors, { recursive: true, force: true });
  });

  it("runs a webhook burst spread over the workers once each, with the trigger's limit held across workers", async function () {
    const ws = [workers.A, workers.B, workers.C];
    const acked = await burst(ws, 30);
    assert.equal(acked.length, 30, "every webhook acknowledged");
    await waitUntil(
      () => acked.every((id) => allLines().some(({ l }) => l.startsWith(`end ${id} `))),
      "every run to end",
      30000,
      50,
    );
    const starts = allLines().filter(({ l }) => l.startsWith("start "));
    const ids = starts.map(({ l }) => l.split(" ")[1]).filter((id) => acked.includes(id));
    assert.equal(ids.length, 30, "each run started once");
    assert.equal(new Set(ids).size, 30);
    // At most 2 going at once (the trigger's concurrency), counted over all workers.
    const most = mostAtOnce("start", "end", acked);
    assert.ok(most <= 2, `at most 2 runs of the trigger at once across workers, saw ${most}`);
    const ranOn = new Set(
      starts.filter(({ l }) => acked.includes(l.split(" ")[1])).map(({ worker }) => worker),
    );
    assert.ok(ranOn.size >= 2, `runs spread over the workers (ran on ${[...ranOn].join(", ")})`);
  });

  it("holds the overall limit (patchworks.runs.maxConcurrent) across the workers together", async function () {
    const acked = await burst([workers.A, workers.B, workers.C], 36, { hook: "wide" });
    assert.equal(acked.length, 36);
    await waitUntil(
      () => acked.every((id) => allLines().some(({ l }) => l.startsWith(`wend ${id} `))),
      "every run to end",
      30000,
      50,
    );
    const most = mostAtOnce("wstart", "wend", acked);
    // 6 across all workers, schedule ticks included: never 3 workers × 6.
    assert.ok(most <= 6, `at most 6 runs at once across workers, saw ${most}`);
    assert.ok(most >= 3, `runs went in parallel (saw ${most} at once)`);
  });

  it("fires a schedule once per tick across the three workers", async function () {
    const ticks = () =>
      allLines()
        .filter(({ l }) => l.startsWith("tick "))
        .map(({ l }) => l.slice(5));
    const before = new Set(ticks());
    await new Promise((r) => setTimeout(r, 4500));
    const fresh = ticks().filter((t) => !before.has(t));
    const counts = new Map();
    for (const t of ticks()) counts.set(t, (counts.get(t) ?? 0) + 1);
    assert.ok(new Set(fresh).size >= 3, `a tick a second (saw ${new Set(fresh).size})`);
    for (const [t, n] of counts) assert.equal(n, 1, `tick ${t} started ${n} runs`);
  });

  it("lists the runs of every worker on any worker, and a stop sent to one worker reaches the worker that runs it", async function () {
    const fired = await api(workers.A, "POST", "/pw/trigger/slow", {});
    assert.equal(fired.status, 200, JSON.stringify(fired.json));
    const started = fired.json.run.id;
    const owner = await waitUntil(
      async () => {
        const r = await run(workers.A, started);
        return r?.status === "running" && r.worker;
      },
      "the slow run to start",
      10000,
      50,
    );
    const other = Object.values(workers).find((w) => w.name !== owner);
    // The owner writes its run's lines to the shared log in batches (a few ms): the other
    // worker lists the run once that write has landed.
    await waitUntil(
      async () =>
        (await api(other, "GET", "/pw/runs?trigger=slow&status=running")).json.runs.some(
          (r) => r.id === started && r.worker === owner,
        ),
      `worker ${other.name} to list ${owner}'s run`,
      5000,
      50,
    );
    const byWorker = new Set(
      (await api(other, "GET", "/pw/runs?trigger=hook&limit=1000")).json.runs.map((r) => r.worker),
    );
    assert.ok(byWorker.size >= 2, "the list holds runs of several workers");

    const stop = await api(other, "POST", `/pw/runs/${started}/stop`);
    assert.equal(stop.status, 200);
    assert.equal(stop.json.run.status, "stopped", "the answer waits for the owner's word");
    const after = await ended(other, started, 5000);
    assert.equal(after.status, "stopped");
    assert.equal(after.reason, "stopped by a user");
    assert.equal(after.worker, owner);

    // Retry from yet another worker: the retry joins the shared queue and any worker runs it.
    const third = Object.values(workers).find((w) => w.name !== owner && w.name !== other.name);
    const retried = await api(third, "POST", `/pw/runs/${started}/retry`);
    assert.equal(retried.status, 202, JSON.stringify(retried.json));
    const retry = await waitUntil(
      async () => {
        const r = await run(owner === "A" ? workers.B : workers.A, retried.json.run.id);
        return r?.status === "running" ? r : undefined;
      },
      "the retry to run",
      10000,
      50,
    );
    assert.equal(retry.retryOf, started);
    assert.equal((await api(workers[owner], "POST", `/pw/runs/${retry.id}/stop`)).json.run.status, "stopped");
  });

  it("answers a run-flow shape waiting for a child run that another worker ran", async function () {
    const parents = [];
    for (let n = 1; n <= 6; n++)
      parents.push(
        (await api(workers[["A", "B", "C"][n % 3]], "POST", "/pw/trigger/parent", { n })).json.run.id,
      );
    const got = await waitUntil(
      () => {
        const found = parents.map((id) => allLines().find(({ l }) => l.startsWith(`parent ${id} `)));
        return found.every(Boolean) && found;
      },
      "every parent to get its child's answer",
      30000,
      50,
    );
    let crossed = 0;
    for (const { worker, l } of got) {
      const [, , childId, answer] = l.split(" ");
      const child = allLines().find(({ l: c }) => c === `child ${childId}`);
      const parentRun = await run(workers.A, l.split(" ")[1]);
      assert.equal(JSON.parse(answer).doubled % 2, 0);
      assert.ok([2, 4, 6, 8, 10, 12].includes(JSON.parse(answer).doubled), answer);
      assert.equal((await run(workers.A, childId)).parent, parentRun.id);
      if (child.worker !== worker) crossed++;
    }
    assert.ok(crossed > 0, "some children ran on another worker than their parent");
  });

  it("takes over a paginated pull of a worker killed with SIGKILL after its lease, resuming at its page; nothing is created twice", async function () {
    flaky.log.length = 0;
    const id = (await api(workers.A, "POST", "/pw/trigger/pull", {})).json.run.id;
    // Page 3 has reached the next shape somewhere: the run's worker is killed then.
    const hit = await waitUntil(
      () => allLines().find(({ l }) => l === `page ${id} 3`),
      "page 3 of the pull",
      20000,
      20,
    );
    // Its checkpoint for page 3 is in the shared run log (written within 50 ms of the page).
    const victim = workers[hit.worker];
    const survivor = Object.values(workers).find((w) => w.name !== victim.name);
    const checkpointed = async () => {
      const r = await run(survivor, id);
      return Math.max(0, ...Object.values(r?.checkpoints ?? {}).map((c) => c.pages ?? 0));
    };
    await waitUntil(async () => (await checkpointed()) >= 3, "the checkpoint of page 3", 10000, 10);
    victim.proc.kill("SIGKILL");
    await victim.exited;
    const sentOn = await checkpointed();
    const done = await ended(survivor, id, 40000);
    assert.equal(done.status, "succeeded", JSON.stringify(done.errors));
    assert.notEqual(done.worker, victim.name);
    assert.match(
      done.handovers.join("\n"),
      new RegExp(`taken over by worker ${done.worker} after worker ${victim.name} stopped`),
    );
    const pages = allLines()
      .filter(({ l }) => l.startsWith(`page ${id} `))
      .map(({ l }) => Number(l.split(" ")[2]));
    for (let p = 1; p <= PAGES; p++) assert.ok(pages.includes(p), `page ${p} reached the next shape`);
    for (let p = 1; p <= sentOn; p++)
      assert.equal(
        pages.filter((x) => x === p).length,
        1,
        `page ${p}, sent on before the kill, is not fetched again (${pages.join(",")})`,
      );
    const accepted = flaky.accepted.map((i) => i.id);
    assert.deepEqual(
      [...accepted].sort((a, b) => a - b),
      items.map((i) => i.id),
      "every record created once",
    );
    await startWorker(victim.name);
  });

  it("hands a stopping worker's runs back at once (graceful drain), and another goes on from their checkpoints", async function () {
    const id = (await api(workers.B, "POST", "/pw/trigger/pull", {})).json.run.id;
    const hit = await waitUntil(
      () => allLines().find(({ l }) => l === `page ${id} 2`),
      "page 2 of the pull",
      20000,
      20,
    );
    const stopping = workers[hit.worker];
    stopping.proc.kill("SIGTERM");
    const exit = await stopping.exited;
    const exitedAt = Date.now();
    assert.equal(exit.code, 0, "Node-RED stopped cleanly");
    const survivor = Object.values(workers).find((w) => w.name !== stopping.name);
    const resumedAt = await waitUntil(
      async () => {
        const r = await run(survivor, id);
        return r?.worker !== stopping.name && r?.handovers?.length ? Date.now() : undefined;
      },
      "another worker to take the run",
      20000,
      20,
    );
    assert.ok(
      resumedAt - exitedAt < LEASE_MS,
      `taken over ${resumedAt - exitedAt} ms after the worker stopped: handed back, not left for its lease to run out`,
    );
    const done = await ended(survivor, id, 40000);
    assert.equal(done.status, "succeeded");
    assert.match(done.handovers.at(-1), new RegExp(`after worker ${stopping.name} stopped`));
    await startWorker(stopping.name);
  });

  it("loses nothing acknowledged when a worker is killed with SIGKILL during a webhook burst", async function () {
    const victim = workers.C;
    let killed = false;
    const acked = await burst([workers.A, workers.B, workers.C], 40, {
      onAck: (n) => {
        if (n === 12 && !killed) {
          killed = true;
          victim.proc.kill("SIGKILL");
        }
      },
    });
    await victim.exited;
    assert.ok(acked.length >= 12);
    const survivor = workers.A;
    await waitUntil(
      async () => {
        for (const id of acked) {
          const r = await run(survivor, id);
          if (!r || r.status !== "succeeded") return false;
        }
        return true;
      },
      "every acknowledged run to succeed",
      40000,
      200,
    );
    await startWorker("C");
  });

  it("waits out a Redis restart: the workers reconnect and runs go on", async function () {
    await redis.stop();
    const pending = burst([workers.A, workers.B], 6);
    await new Promise((r) => setTimeout(r, 700));
    await redis.start();
    const acked = await pending;
    assert.equal(
      acked.length,
      6,
      "the webhooks sent while Redis was down were acknowledged once it was back",
    );
    for (const id of acked) assert.equal((await ended(workers.B, id)).status, "succeeded");
    const more = await burst([workers.B, workers.C], 6);
    for (const id of more) assert.equal((await ended(workers.A, id)).status, "succeeded");
  });
});
