// The cache shape in a real runtime with the localfilesystem store as default: 50 parallel
// runs appending to one cache, run-scoped caches removed when the run ends, and the admin
// routes that list caches with their sizes and clear one.
const assert = require("node:assert/strict");
const { startRuntime } = require("../support/runtime");
const { waitUntil } = require("../support/wait");

describe("cache (runtime)", function () {
  this.timeout(30000);
  let rt;
  const seen = [];
  before(async () => {
    rt = await startRuntime({
      functionGlobalContext: { seen },
      contextStorage: { default: { module: "localfilesystem" }, memory: { module: "memory" } },
      patchworks: { runs: { settleMs: 30 } },
    });
    const node = (n) => ({ z: "t", wires: [], ...n });
    await rt.deploy([
      { id: "t", type: "tab", label: "Cache" },
      node({ id: "trig", type: "pw-trigger", name: "append", schedules: [], wires: [["append"]] }),
      node({
        id: "append",
        type: "pw-cache",
        action: "add",
        cache: "orders seen",
        key: "all",
        scope: "global",
        append: true,
        wires: [],
      }),
      node({ id: "trig2", type: "pw-trigger", name: "read", schedules: [], wires: [["read"]] }),
      node({
        id: "read",
        type: "pw-cache",
        action: "load",
        cache: "orders seen",
        key: "all",
        scope: "global",
        wires: [["sink"]],
      }),
      node({ id: "trig3", type: "pw-trigger", name: "run scope", schedules: [], wires: [["runAdd"]] }),
      node({
        id: "runAdd",
        type: "pw-cache",
        action: "add",
        cache: "scratch",
        scope: "run",
        store: "memory",
        wires: [["runLoad"]],
      }),
      node({
        id: "runLoad",
        type: "pw-cache",
        action: "load",
        cache: "scratch",
        scope: "run",
        store: "memory",
        wires: [["sink"]],
      }),
      node({
        id: "sink",
        type: "function",
        func: "global.get('seen').push(msg.payload); return null;",
        outputs: 0,
      }),
    ]);
  });
  after(() => rt.stop());
  beforeEach(() => (seen.length = 0));

  const ended = (id) =>
    waitUntil(
      async () => {
        const r = (await rt.api("GET", `/pw/runs/${id}`)).json?.run;
        return r && !["running", "queued"].includes(r.status) ? r : undefined;
      },
      `run ${id}`,
      15000,
      20,
    );
  const run = async (trigger, payload) =>
    ended((await rt.api("POST", `/pw/trigger/${trigger}`, payload)).json.run.id);

  it("loses no entry when 50 parallel runs append to one cache", async function () {
    const started = await Promise.all(
      Array.from({ length: 50 }, (_, i) => rt.api("POST", "/pw/trigger/trig", [{ order: i }])),
    );
    for (const s of started) assert.equal((await ended(s.json.run.id)).status, "succeeded");
    assert.equal((await run("trig2", {})).status, "succeeded");
    assert.deepEqual(
      seen[0].map((r) => r.order).sort((a, b) => a - b),
      Array.from({ length: 50 }, (_, i) => i),
    );
  });

  it("keeps a run-scoped cache for its run only", async function () {
    assert.equal((await run("trig3", { mine: 1 })).status, "succeeded");
    assert.deepEqual(seen, [{ mine: 1 }]);
    const list = await waitUntil(async () => {
      const caches = (await rt.api("GET", "/pw/cache")).json.caches;
      return !caches.some((c) => c.cache === "scratch") && caches;
    }, "the run's cache to be removed when the run ended");
    assert.ok(list.some((c) => c.cache === "orders seen"));
  });

  it("lists caches with their sizes and clears one through the admin API", async function () {
    const list = (await rt.api("GET", "/pw/cache")).json.caches;
    const entry = list.find((c) => c.cache === "orders seen");
    assert.equal(entry.scope, "global");
    assert.equal(entry.store, "default");
    assert.equal(entry.entries, 1);
    assert.ok(entry.bytes > 50 * 10, `${entry.bytes} bytes`);
    const cleared = await rt.api(
      "DELETE",
      `/pw/cache?place=${encodeURIComponent(entry.place)}&cache=${encodeURIComponent("orders seen")}`,
    );
    assert.deepEqual([cleared.status, cleared.json.cleared], [200, 1]);
    assert.equal((await rt.api("GET", "/pw/cache")).json.caches.length, 0);
    const again = await rt.api("DELETE", `/pw/cache?place=${encodeURIComponent(entry.place)}&cache=x`);
    assert.equal(again.status, 404);
    assert.equal((await rt.api("DELETE", "/pw/cache")).status, 400);
  });
});
