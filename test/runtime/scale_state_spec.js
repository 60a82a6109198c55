// The scale-out mode's shared state with real workers: three Node-RED processes with the same
// flows and patchworks.scaleOut pointing at one Redis (of the test's own). Ten connection shapes
// on three workers stay within Shopify's leaky bucket together; a de-dupe shape on two workers
// passes each record once; a flow variable set on one worker is read on another.
const assert = require("node:assert/strict");
const fs = require("node:fs");
const os = require("node:os");
const path = require("node:path");
const { spawn } = require("node:child_process");
const { root } = require("../support/dist");
const { waitUntil } = require("../support/wait");
const { startRedis } = require("../support/redis");
const { startShopify } = require("../../demo/fakes/shopify");

const child = path.join(__dirname, "..", "support", "child-runtime.js");
const TOKEN = "shpat_scale_secret";
// The fake store's leaky bucket: 30 calls, draining 10 a second (Shopify Plus-like, so the spec is quick).
const BUCKET = 30;
const LEAK = 10;
// The instance's burst leaves room for the time between a token taken and the call arriving
// (Shopify's own advice: never run the bucket to the brim); a loaded test machine needs a second.
const HEADROOM = 10;

describe("scale-out shared state (three workers on one Redis)", function () {
  this.timeout(120000);
  let redis;
  let shop;
  const workers = [];
  const orders = [1, 2, 3].map((id) => ({ id, created_at: "2026-01-01T10:00:00.000Z" }));

  const settings = (workerId) => ({
    patchworks: {
      runs: { settleMs: 30 },
      scaleOut: { redis: redis.url, prefix: "rt", workerId },
    },
    contextStorage: {
      default: "redis",
      redis: {
        module: { require: path.join(root, "dist", "lib", "scale", "context-redis.js") },
        config: { redis: redis.url, prefix: "rt" },
      },
      memory: { module: "memory" },
    },
  });

  async function startWorker(workerId) {
    const userDir = fs.mkdtempSync(path.join(os.tmpdir(), `pw-scale-${workerId}-`));
    const red = spawn(process.execPath, [child, userDir, JSON.stringify(settings(workerId))], {
      stdio: ["ignore", "pipe", "pipe"],
    });
    let out = "";
    red.stdout.on("data", (d) => (out += d));
    red.stderr.on("data", (d) => (out += d));
    red.exited = new Promise((resolve) => red.once("exit", resolve));
    const url = await waitUntil(
      () => /listening (\S+)/.exec(out)?.[1],
      `worker ${workerId} to start (${out})`,
      60000,
    );
    const api = async (method, route, body) => {
      const res = await fetch(url + route, {
        method,
        headers: { "content-type": "application/json", "Node-RED-Deployment-Type": "full" },
        body: body === undefined ? undefined : JSON.stringify(body),
      });
      const text = await res.text();
      return { status: res.status, json: text ? JSON.parse(text) : undefined };
    };
    const sunk = () => {
      const file = path.join(userDir, "sink.txt");
      return fs.existsSync(file) ? fs.readFileSync(file, "utf8").split("\n").filter(Boolean) : [];
    };
    return { workerId, userDir, red, api, sunk };
  }

  /** Starts a run of `trigger` on a worker; resolves with the ended run. */
  async function run(w, trigger, payload = {}) {
    const started = await waitUntil(async () => {
      const res = await w.api("POST", `/pw/trigger/${trigger}`, payload);
      return res.status === 200 && res.json;
    }, `trigger ${trigger} on ${w.workerId} to accept a run`);
    const id = started.run.id;
    return waitUntil(
      async () => {
        const r = (await w.api("GET", `/pw/runs/${id}`)).json?.run;
        return r && r.status !== "running" && r.status !== "queued" ? r : undefined;
      },
      `run ${id} on ${w.workerId} to end`,
      60000,
      50,
    );
  }

  const sink = (id, z, line) => ({
    id,
    type: "function",
    z,
    func: `global.get('sink')(${line}); return null;`,
    outputs: 0,
    wires: [],
  });

  const flows = () =>
    [
      {
        id: "inst",
        type: "pw-instance",
        name: "Acme store",
        connector: "shopify",
        vars: { shop: new URL(shop.base).host, scheme: "http" },
        secretSlots: { token: 0 },
        credentials: { secret_0: TOKEN },
        rateLimit: [{ requests: LEAK, period: "second", burst: BUCKET - HEADROOM }],
      },
      // Ten connection shapes, each one call per run.
      { id: "rate", type: "tab", label: "Ten connections" },
      {
        id: "burst",
        type: "pw-trigger",
        z: "rate",
        name: "burst",
        schedules: [],
        wires: [Array.from({ length: 10 }, (_, i) => `c${i}`)],
      },
      ...Array.from({ length: 10 }, (_, i) => ({
        id: `c${i}`,
        type: "pw-connection",
        z: "rate",
        name: `Orders ${i}`,
        instance: "inst",
        endpoint: "list-orders",
        params: [],
        wires: [["rate-sink"]],
      })),
      sink("rate-sink", "rate", "'pulled ' + msg.payload.length"),
      // A de-dupe shape, on every worker, on one pool.
      { id: "dd", type: "tab", label: "De-dupe" },
      { id: "orders", type: "pw-trigger", z: "dd", name: "orders", schedules: [], wires: [["dedupe"]] },
      {
        id: "dedupe",
        type: "pw-dedupe",
        z: "dd",
        mode: "filter-and-track",
        keyType: "path",
        key: "id",
        pool: "orders",
        ttl: 1,
        ttlUnit: "days",
        wires: [["dd-sink"]],
      },
      sink("dd-sink", "dd", "'passed ' + msg.payload.map(o => o.id).join(',')"),
      // A cache appended to on every worker at once.
      { id: "cache", type: "tab", label: "Cache" },
      { id: "append", type: "pw-trigger", z: "cache", name: "append", schedules: [], wires: [["add"]] },
      {
        id: "add",
        type: "pw-cache",
        z: "cache",
        action: "add",
        cache: "orders seen",
        key: "all",
        scope: "global",
        append: true,
        wires: [],
      },
      { id: "read", type: "pw-trigger", z: "cache", name: "read", schedules: [], wires: [["load"]] },
      {
        id: "load",
        type: "pw-cache",
        z: "cache",
        action: "load",
        cache: "orders seen",
        key: "all",
        scope: "global",
        wires: [["cache-sink"]],
      },
      sink("cache-sink", "cache", "'cached ' + JSON.stringify(msg.payload)"),
      // A flow variable set on one worker, read on another.
      { id: "vars", type: "tab", label: "Flow variables" },
      { id: "set", type: "pw-trigger", z: "vars", name: "set", schedules: [], wires: [["setvar"]] },
      {
        id: "setvar",
        type: "pw-set-variables",
        z: "vars",
        rules: [{ target: "flow", key: "greeting", valueType: "path", value: "text" }],
        wires: [[]],
      },
      { id: "get", type: "pw-trigger", z: "vars", name: "get", schedules: [], wires: [["getvar"]] },
      {
        id: "getvar",
        type: "function",
        z: "vars",
        func:
          "flow.get('greeting', (err, value) => { global.get('sink')('async ' + value + ' sync ' + flow.get('greeting')); node.done(); });" +
          "return null;",
        outputs: 0,
        wires: [],
      },
    ].map((n) => (n.z ? { x: 100, y: 100, ...n } : n));

  before(async function () {
    redis = await startRedis();
    shop = await startShopify({ token: TOKEN, orders, bucket: BUCKET, leakPerSecond: LEAK });
    workers.push(...(await Promise.all(["w1", "w2", "w3"].map(startWorker))));
    const deployed = flows();
    for (const w of workers) {
      assert.equal((await w.api("POST", "/flows", deployed)).status, 204);
      await waitUntil(async () => (await w.api("GET", "/pw/runs?limit=1")).status === 200, "the runs API");
    }
  });

  after(async () => {
    for (const w of workers) {
      if (w.red.exitCode === null && w.red.signalCode === null) {
        w.red.kill("SIGKILL");
        await w.red.exited;
      }
      fs.rmSync(w.userDir, { recursive: true, force: true });
    }
    await shop?.close();
    await redis?.close();
  });

  it("keeps ten connection shapes on three workers within the store's rate limit together", async function () {
    shop.log.length = 0;
    shop.rest.throttled = 0;
    // Two runs on each worker at once: 60 calls; each worker alone would burst 20, 60 together.
    const runs = await Promise.all(workers.flatMap((w) => [run(w, "burst"), run(w, "burst")]));
    for (const r of runs) assert.equal(r.status, "succeeded", JSON.stringify(r));
    const calls = shop.log.filter((e) => e.path.endsWith("/orders.json")).map((e) => e.at);
    assert.equal(
      calls.length,
      60,
      `one call per shape per run, none retried (${shop.rest.throttled} answered 429)`,
    );
    assert.equal(shop.rest.throttled, 0, "the store never answered 429");
    // The calls went at the instance's pace: 20 at once, then 10 a second.
    const span = Math.max(...calls) - Math.min(...calls);
    assert.ok(span >= ((60 - (BUCKET - HEADROOM)) / LEAK) * 1000 - 300, `60 calls took ${span} ms`);
    const pulled = workers.flatMap((w) => w.sunk()).filter((l) => l.startsWith("pulled"));
    assert.equal(pulled.length, 60);
  });

  it("passes each record once through a de-dupe shape running on two workers at once", async function () {
    const records = Array.from({ length: 30 }, (_, i) => ({ id: 5000 + i }));
    const [a, b] = workers;
    const runs = await Promise.all(
      [a, b, a, b, a, b].map((w, i) => run(w, "orders", i % 2 ? [...records].reverse() : records)),
    );
    for (const r of runs) assert.equal(r.status, "succeeded");
    const passed = workers
      .flatMap((w) => w.sunk())
      .filter((l) => l.startsWith("passed "))
      .flatMap((l) => l.slice(7).split(",").filter(Boolean).map(Number));
    assert.deepEqual(
      passed.sort((x, y) => x - y),
      records.map((r) => r.id),
    );
  });

  it("loses no entry when runs on three workers append to one cache at once", async function () {
    const runs = await Promise.all(
      workers.flatMap((w, wi) => Array.from({ length: 8 }, (_, i) => run(w, "append", [wi * 100 + i]))),
    );
    for (const r of runs) assert.equal(r.status, "succeeded");
    const [, , c] = workers;
    assert.equal((await run(c, "read")).status, "succeeded");
    // With the shared run queue any worker may run it: its output is looked for on all.
    const line = await waitUntil(
      () => workers.flatMap((w) => w.sunk()).find((l) => l.startsWith("cached ")),
      "the cached entries read",
      10000,
      50,
    );
    const values = JSON.parse(line.slice(7)).sort((x, y) => x - y);
    assert.deepEqual(
      values,
      [0, 1, 2].flatMap((wi) => Array.from({ length: 8 }, (_, i) => wi * 100 + i)),
    );
  });

  it("reads on every worker a flow variable set on one", async function () {
    const [a] = workers;
    assert.equal((await run(a, "set", { text: "hello from w1" })).status, "succeeded");
    // The shared run queue gives runs to any worker: "get" is pressed until every worker has
    // run it, so each of the three read what one of them set.
    const lines = await waitUntil(
      async () => {
        await run(workers[Math.floor(Math.random() * workers.length)], "get");
        const read = workers.map((w) => w.sunk().find((l) => l.startsWith("async hello")));
        return read.every(Boolean) ? read : undefined;
      },
      "every worker to read the variable",
      20000,
      50,
    );
    for (const line of lines) assert.equal(line, "async hello from w1 sync hello from w1");
  });
});
