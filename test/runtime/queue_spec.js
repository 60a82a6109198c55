// Concurrency limits and the run queue in a real runtime.
const assert = require("node:assert/strict");
const { startRuntime } = require("../support/runtime");
const { waitUntil } = require("../support/wait");

const sinkFn = "global.get('seen').push(msg.payload.n); return null;";
const delay = (id, ms, wires) => ({
  id,
  type: "delay",
  z: "q",
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
  wires,
});

describe("run queue (runtime)", function () {
  let rt;
  const seen = [];
  before(async () => {
    rt = await startRuntime({
      functionGlobalContext: { seen },
      patchworks: { runs: { settleMs: 30, maxConcurrent: 5, maxQueued: 3 } },
    });
    await deployHook();
  });
  const deployHook = () =>
    rt.deploy([
      { id: "q", type: "tab", label: "Queue" },
      {
        id: "hook",
        type: "pw-trigger",
        z: "q",
        name: "orders in",
        schedules: [],
        webhook: true,
        path: "/queued",
        methods: "POST",
        concurrency: 1,
        whenFull: "reject",
        wires: [["slow"]],
      },
      delay("slow", 150, [["sink1"]]),
      { id: "sink1", type: "function", z: "q", func: sinkFn, outputs: 0, wires: [] },
    ]);
  after(() => rt.stop());
  beforeEach(() => (seen.length = 0));

  const post = (n) =>
    fetch(`${rt.hooks}/queued`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ n }),
    });
  const byStatus = async (status) =>
    (await rt.api("GET", `/pw/runs?status=${status}&trigger=hook`)).json.runs;

  it("runs one at a time for a trigger with concurrency 1, queueing the rest in order", async function () {
    const replies = await Promise.all([post(1), post(2), post(3)]);
    assert.deepEqual(
      replies.map((r) => r.status),
      [200, 200, 200],
    );
    assert.equal((await byStatus("queued")).length, 2);
    await waitUntil(() => seen.length === 3, "all three runs", 5000);
    assert.deepEqual(seen, [1, 2, 3]);
    const done = await waitUntil(async () => {
      const r = await byStatus("succeeded");
      return r.length === 3 && r;
    }, "three succeeded runs");
    assert.ok(done.filter((r) => r.queuedAt !== undefined).length === 2, "two of them waited");
  });

  it("answers 429 with Retry-After when the queue is full and the trigger says reject", async function () {
    const replies = [];
    for (let n = 10; n < 16; n++) replies.push(await post(n));
    const statuses = replies.map((r) => r.status);
    assert.deepEqual(statuses.slice(0, 4), [200, 200, 200, 200], "one running, three waiting");
    assert.deepEqual(statuses.slice(4), [429, 429]);
    assert.equal(replies[4].headers.get("retry-after"), "30");
    await waitUntil(() => seen.length === 4, "the accepted runs", 5000);
    assert.ok(rt.logs.some((l) => l.id === "hook" && /run queue is full/.test(l.msg)));
  });

  it("does not limit a trigger's event runs of its own when At once is left blank", async function () {
    await rt.deploy([
      { id: "q", type: "tab", label: "Queue" },
      { id: "ev", type: "pw-trigger", z: "q", name: "events", schedules: [], wires: [["evslow"]] },
      delay("evslow", 150, [["evsink"]]),
      { id: "evsink", type: "function", z: "q", func: sinkFn, outputs: 0, wires: [] },
    ]);
    const trigger = rt.RED.nodes.getNode("ev");
    [31, 32, 33].forEach((n) => trigger.receive({ payload: { n } }));
    await new Promise((r) => setTimeout(r, 50));
    assert.equal((await rt.api("GET", "/pw/runs?status=queued&trigger=ev")).json.runs.length, 0);
    assert.equal((await rt.api("GET", "/pw/runs?status=running&trigger=ev")).json.runs.length, 3);
    await waitUntil(() => seen.length === 3, "the three runs");
  });

  it("runs a schedule's runs one at a time when At once is left blank", async function () {
    this.timeout(10000);
    await rt.deploy([
      { id: "q", type: "tab", label: "Queue" },
      {
        id: "every",
        type: "pw-trigger",
        z: "q",
        name: "every second",
        schedules: [{ type: "cron", cron: "* * * * * *" }],
        wires: [["long"]],
      },
      delay("long", 5000, [[]]),
    ]);
    await waitUntil(
      async () => (await rt.api("GET", "/pw/runs?status=queued&trigger=every")).json.runs.length >= 1,
      "a scheduled run to wait",
      4000,
      100,
    );
    assert.equal((await rt.api("GET", "/pw/runs?status=running&trigger=every")).json.runs.length, 1);
    for (const run of (await rt.api("GET", "/pw/runs?status=running,queued&trigger=every")).json.runs)
      await rt.api("POST", `/pw/runs/${run.id}/stop`);
  });

  it("answers 429 by default when the queue is full, and runs every webhook it answered 200", async function () {
    await rt.deploy([
      { id: "q", type: "tab", label: "Queue" },
      {
        id: "dflt",
        type: "pw-trigger",
        z: "q",
        name: "defaults",
        schedules: [],
        webhook: true,
        path: "/defaults",
        methods: "POST",
        concurrency: 1,
        wires: [["dslow"]],
      },
      delay("dslow", 20, [["dsink"]]),
      { id: "dsink", type: "function", z: "q", func: sinkFn, outputs: 0, wires: [] },
    ]);
    const replies = await Promise.all(
      Array.from({ length: 20 }, (_, n) =>
        fetch(`${rt.hooks}/defaults`, {
          method: "POST",
          headers: { "content-type": "application/json" },
          body: JSON.stringify({ n }),
        }),
      ),
    );
    const accepted = replies.flatMap((r, n) => (r.status === 200 ? [n] : []));
    const refused = replies.filter((r) => r.status === 429);
    assert.equal(accepted.length + refused.length, 20);
    assert.ok(refused.length > 0 && refused.every((r) => r.headers.get("retry-after") === "30"));
    await waitUntil(() => seen.length === accepted.length, "every accepted webhook to run", 5000);
    await new Promise((r) => setTimeout(r, 100));
    assert.deepEqual(
      [...seen].sort((a, b) => a - b),
      accepted,
      "no acknowledged webhook lost, none run twice",
    );
  });

  it("queues manual runs under the trigger's limit, ahead of its waiting webhooks", async function () {
    await deployHook();
    const manual = (n) => rt.api("POST", "/pw/trigger/hook", { n });
    await post(40);
    await post(41);
    const replies = await Promise.all([manual(42), manual(43)]);
    assert.deepEqual(
      replies.map((r) => r.status),
      [200, 200],
    );
    assert.equal((await byStatus("running")).length, 1, "one at a time: manual runs meet the limit");
    assert.equal((await byStatus("queued")).length, 3);
    await waitUntil(() => seen.length === 4, "all four runs", 5000);
    assert.deepEqual(seen, [40, 42, 43, 41], "manual runs went ahead of the waiting webhook");
    const more = await Promise.all([44, 45, 46, 47, 48].map(manual));
    assert.deepEqual(
      more.map((r) => r.status),
      [200, 200, 200, 200, 429],
      "one running, three waiting, then the queue is full",
    );
    assert.equal(more[4].headers.get("retry-after"), "30");
    await waitUntil(() => seen.length === 8, "the accepted manual runs", 5000);
  });

  it("cancels a queued run with stop: it ends as stopped and never runs", async function () {
    await deployHook();
    await post(20);
    await post(21);
    const [queued] = await byStatus("queued");
    const res = await rt.api("POST", `/pw/runs/${queued.id}/stop`);
    assert.equal(res.status, 200);
    assert.equal(res.json.run.status, "stopped");
    await waitUntil(() => seen.length === 1, "the first run");
    await new Promise((r) => setTimeout(r, 300));
    assert.deepEqual(seen, [20]);
  });
});
