// State that must outlive a restart: a real runtime in a child process, stopped (SIGTERM) and
// started again on the same user directory with the settings `npm start` writes (flow and
// global variables in the localfilesystem store by default).
const assert = require("node:assert/strict");
const fs = require("node:fs");
const os = require("node:os");
const path = require("node:path");
const { spawn } = require("node:child_process");
const { waitUntil } = require("../support/wait");
const { startShopify } = require("../../demo/fakes/shopify");

const child = path.join(__dirname, "..", "support", "child-runtime.js");
const settings = {
  contextStorage: { default: { module: "localfilesystem" }, memory: { module: "memory" } },
  patchworks: { runs: { settleMs: 30 } },
};
const TOKEN = "shpat_state_secret";

describe("state across a restart (runtime in a child process)", function () {
  this.timeout(90000);
  let userDir;
  let red;
  let shop;
  const orders = [
    { id: 1, created_at: "2026-01-01T10:00:00.000Z" },
    { id: 2, created_at: "2026-01-02T10:00:00.000Z" },
    { id: 3, created_at: "2026-01-03T10:00:00.000Z" },
  ];

  async function start() {
    red = spawn(process.execPath, [child, userDir, JSON.stringify(settings)], {
      stdio: ["ignore", "pipe", "pipe"],
    });
    let out = "";
    red.stdout.on("data", (d) => (out += d));
    red.stderr.on("data", (d) => (out += d));
    red.exited = new Promise((resolve) => red.once("exit", (code, signal) => resolve({ code, signal })));
    red.url = await waitUntil(() => /listening (\S+)/.exec(out)?.[1], `the runtime to start (${out})`, 30000);
  }
  async function stop() {
    red.kill("SIGTERM");
    assert.deepEqual(await red.exited, { code: 0, signal: null });
  }
  const api = async (method, route, body) => {
    const res = await fetch(red.url + route, {
      method,
      headers: { "content-type": "application/json", "Node-RED-Deployment-Type": "full" },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const text = await res.text();
    return { status: res.status, json: text ? JSON.parse(text) : undefined };
  };
  async function deploy(flows) {
    assert.equal((await api("POST", "/flows", flows)).status, 204);
    await waitUntil(async () => (await api("GET", "/pw/runs?limit=1")).status === 200, "the runs API");
  }
  /** Starts a run of trigger `trig` with `payload`; resolves with the ended run. */
  async function run(trigger, payload = {}) {
    const started = await waitUntil(async () => {
      const res = await api("POST", `/pw/trigger/${trigger}`, payload);
      return res.status === 200 && res.json;
    }, `trigger ${trigger} to accept a run`);
    const id = started.run.id;
    return waitUntil(
      async () => {
        const r = (await api("GET", `/pw/runs/${id}`)).json?.run;
        return r && r.status !== "running" && r.status !== "queued" ? r : undefined;
      },
      `run ${id} to end`,
      10000,
      20,
    );
  }
  /** Lines the flows wrote with global.get('sink'), from the start. */
  const sunk = () => {
    const file = path.join(userDir, "sink.txt");
    return fs.existsSync(file) ? fs.readFileSync(file, "utf8").split("\n").filter(Boolean) : [];
  };

  before(async () => {
    shop = await startShopify({ token: TOKEN, orders });
  });
  after(() => shop.close());
  beforeEach(() => {
    userDir = fs.mkdtempSync(path.join(os.tmpdir(), "pw-state-"));
  });
  afterEach(async () => {
    if (red && red.exitCode === null && red.signalCode === null) {
      red.kill("SIGKILL");
      await red.exited;
    }
    fs.rmSync(userDir, { recursive: true, force: true });
  });

  it("pulls incrementally from a persisted {{flow.lastSyncedAt}}, advanced only by runs that succeed, across a restart", async function () {
    const flows = [
      { id: "t", type: "tab", label: "Incremental" },
      {
        id: "inst",
        type: "pw-instance",
        name: "Acme store",
        connector: "shopify",
        vars: { shop: new URL(shop.base).host, scheme: "http" },
        secretSlots: { token: 0 },
        credentials: { secret_0: TOKEN },
      },
      { id: "trig", type: "pw-trigger", z: "t", name: "sync", schedules: [], wires: [["fail"]] },
      {
        id: "fail",
        type: "pw-set-variables",
        z: "t",
        rules: [{ target: "meta", key: "fail", valueType: "path", value: "fail" }],
        wires: [["pull"]],
      },
      {
        id: "pull",
        type: "pw-connection",
        z: "t",
        name: "Orders since last sync",
        instance: "inst",
        endpoint: "list-orders",
        params: [{ key: "created_at_min", valueType: "template", value: "{{flow.lastSyncedAt}}" }],
        wires: [["mark"]],
      },
      {
        id: "mark",
        type: "pw-set-variables",
        z: "t",
        name: "watermark",
        rules: [{ target: "flow", key: "lastSyncedAt", valueType: "template", value: "{{run.startedAt}}" }],
        writeWhen: "success",
        wires: [["send"]],
      },
      // Stands for the shape that sends the records on: it fails when the run is told to.
      {
        id: "send",
        type: "function",
        z: "t",
        func:
          "global.get('sink')(msg.payload.map(o => o.id).join(',') || 'none');" +
          "if (msg.pw.meta.fail === 'true') throw new Error('the target refused the orders');" +
          "return null;",
        outputs: 0,
        wires: [],
      },
    ].map((n) => (n.z ? { x: 100, y: 100, wires: [], ...n } : n));
    await start();
    await deploy(flows);

    const first = await run("trig");
    assert.equal(first.status, "succeeded");
    assert.deepEqual(sunk(), ["1,2,3"], "the first run pulls everything");

    orders.push({ id: 4, created_at: new Date().toISOString() });
    const failed = await run("trig", { fail: "true" });
    assert.equal(failed.status, "failed");
    assert.deepEqual(sunk().slice(1), ["4"], "only what is new since the first run");

    await stop();
    await start();
    const retried = await run("trig");
    assert.equal(retried.status, "succeeded");
    assert.deepEqual(sunk().slice(2), ["4"], "after the restart the failed run's records are pulled again");
    const quiet = await run("trig");
    assert.equal(quiet.status, "succeeded");
    assert.deepEqual(sunk().slice(3), ["none"], "and once it has succeeded, not again");
    await stop();
    const stored = JSON.parse(fs.readFileSync(path.join(userDir, "context", "t", "flow.json"), "utf8"));
    // The last run's start (msg.pw.run.startedAt; the run log's own time may differ by a millisecond).
    assert.ok(
      Math.abs(Date.parse(stored.lastSyncedAt) - quiet.startedAt) < 50,
      "written to disk by the store",
    );
  });

  it("remembers de-dupe keys through a crash (SIGKILL) and a restart", async function () {
    await start();
    await deploy(
      [
        { id: "t", type: "tab", label: "De-dupe" },
        { id: "trig", type: "pw-trigger", z: "t", name: "orders", schedules: [], wires: [["d"]] },
        {
          id: "d",
          type: "pw-dedupe",
          z: "t",
          mode: "filter-and-track",
          keyType: "path",
          key: "id",
          pool: "orders",
          ttl: 90,
          ttlUnit: "days",
          wires: [["send"]],
        },
        {
          id: "send",
          type: "function",
          z: "t",
          func: "global.get('sink')(msg.payload.map(o => o.id).join(',')); return null;",
          outputs: 0,
          wires: [],
        },
      ].map((n) => (n.z ? { x: 100, y: 100, ...n } : n)),
    );
    assert.equal((await run("trig", [{ id: 1 }, { id: 2 }])).status, "succeeded");
    assert.deepEqual(sunk(), ["1,2"]);
    red.kill("SIGKILL");
    await red.exited;
    await start();
    assert.equal((await run("trig", [{ id: 2 }, { id: 3 }, { id: 1 }])).status, "succeeded");
    assert.deepEqual(sunk(), ["1,2", "3"], "keys tracked before the crash are still known");
  });

  it("keeps a cache in the default (localfilesystem) store across a restart", async function () {
    await start();
    await deploy(
      [
        { id: "t", type: "tab", label: "Cache" },
        { id: "keep", type: "pw-trigger", z: "t", name: "keep", schedules: [], wires: [["adder"]] },
        {
          id: "adder",
          type: "pw-cache",
          z: "t",
          action: "add",
          cache: "products",
          key: "{{payload.shop}}",
          scope: "global",
          wires: [],
        },
        { id: "read", type: "pw-trigger", z: "t", name: "read", schedules: [], wires: [["loader"]] },
        {
          id: "loader",
          type: "pw-cache",
          z: "t",
          action: "load",
          cache: "products",
          key: "acme",
          scope: "global",
          miss: "error",
          wires: [["send"]],
        },
        {
          id: "send",
          type: "function",
          z: "t",
          func: "global.get('sink')(JSON.stringify(msg.payload)); return null;",
          outputs: 0,
          wires: [],
        },
      ].map((n) => (n.z ? { x: 100, y: 100, ...n } : n)),
    );
    assert.equal((await run("keep", { shop: "acme", skus: ["A", "B"] })).status, "succeeded");
    await stop();
    await start();
    assert.equal((await run("read")).status, "succeeded");
    assert.deepEqual(sunk(), [JSON.stringify({ shop: "acme", skus: ["A", "B"] })]);
  });
});
