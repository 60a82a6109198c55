// The Data sidebar in Chromium: the caches and de-dupe pools the runtime keeps, with sizes,
// each cleared with two clicks.
const assert = require("node:assert/strict");
const { openEditor, screenshotOnFailure } = require("../support/editor");
const { waitUntil } = require("../support/wait");

const flows = [
  { id: "dt", type: "tab", label: "Data" },
  {
    id: "trigC",
    type: "pw-trigger",
    z: "dt",
    name: "prices",
    schedules: [],
    x: 120,
    y: 80,
    wires: [["keep"]],
  },
  {
    id: "keep",
    type: "pw-cache",
    z: "dt",
    action: "add",
    cache: "price list",
    key: "",
    scope: "global",
    x: 320,
    y: 80,
    wires: [[]],
  },
  {
    id: "trigD",
    type: "pw-trigger",
    z: "dt",
    name: "orders",
    schedules: [],
    x: 120,
    y: 160,
    wires: [["seen"]],
  },
  {
    id: "seen",
    type: "pw-dedupe",
    z: "dt",
    mode: "track",
    keyType: "path",
    key: "id",
    pool: "orders seen",
    entity: "orders",
    ttl: 90,
    ttlUnit: "days",
    missing: "error",
    x: 320,
    y: 160,
    wires: [[]],
  },
];

describe("Data sidebar (Chromium)", function () {
  this.timeout(120000);
  let ed;
  let page;
  before(async () => {
    ed = await openEditor({ patchworks: { runs: { settleMs: 40 } } }, flows);
    page = ed.page;
    for (const [trigger, payload] of [
      ["trigC", [{ sku: "A", price: 1 }]],
      ["trigD", [{ id: 1 }, { id: 2 }, { id: 3 }]],
    ]) {
      const id = (await ed.rt.api("POST", `/pw/trigger/${trigger}`, payload)).json.run.id;
      await waitUntil(async () => {
        const r = (await ed.rt.api("GET", `/pw/runs/${id}`)).json?.run;
        return r && r.status === "succeeded";
      }, `run of ${trigger}`);
    }
  });
  after(() => ed.close());
  afterEach(screenshotOnFailure(() => page));

  const row = (name) => page.locator(".pw-data-row", { hasText: name });

  it("lists the caches and data pools with their sizes", async function () {
    await page.evaluate(() => RED.sidebar.show("pw-data"));
    await row("price list").waitFor({ timeout: 10000 });
    assert.match(await row("price list").textContent(), /1 entries, \d+(\.\d)? (B|KB)/);
    assert.match(await row("price list").textContent(), /global cache in the default store/);
    await row("orders seen").waitFor();
    assert.match(await row("orders seen").textContent(), /3 keys, .* on disk/);
    assert.equal(
      await row("orders seen").locator("a").getAttribute("href"),
      "pw/dedupe/pools/orders%20seen/csv",
      "exportable as CSV",
    );
  });

  it("clears a cache and a pool on a second click only", async function () {
    const clearCache = row("price list").locator(".pw-data-clear");
    await clearCache.click();
    assert.equal((await ed.rt.api("GET", "/pw/cache")).json.caches.length, 1, "one click asks again");
    await clearCache.click();
    await waitUntil(
      async () => (await ed.rt.api("GET", "/pw/cache")).json.caches.length === 0,
      "the cache cleared",
    );
    const clearPool = row("orders seen").locator(".pw-data-clear");
    await clearPool.click();
    await clearPool.click();
    await waitUntil(
      async () => (await ed.rt.api("GET", "/pw/dedupe/pools")).json.pools.every((p) => p.keys === 0),
      "the pool cleared",
    );
    await page.locator(".pw-data-caches .pw-data-empty").waitFor({ timeout: 10000 });
  });

  it("logged no console errors", function () {
    assert.deepEqual(ed.consoleErrors, []);
  });
});
