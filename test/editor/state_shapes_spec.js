// The state shapes' dialogs in Chromium: set variables' "when the run ends successfully", the
// de-dupe shape and its pool panel (show, import, export, clear) and the cache shape.
const assert = require("node:assert/strict");
const fs = require("node:fs");
const os = require("node:os");
const path = require("node:path");
const { openEditor, screenshotOnFailure } = require("../support/editor");
const { waitUntil } = require("../support/wait");

const flows = [
  { id: "st", type: "tab", label: "State" },
  { id: "trig", type: "pw-trigger", z: "st", name: "orders", schedules: [], x: 120, y: 80, wires: [["dd"]] },
  {
    id: "dd",
    type: "pw-dedupe",
    z: "st",
    name: "new orders",
    mode: "filter-and-track",
    keyType: "path",
    key: "id",
    pool: "orders",
    entity: "orders",
    ttl: 90,
    ttlUnit: "days",
    missing: "error",
    x: 320,
    y: 80,
    wires: [[]],
  },
  {
    id: "trigC",
    type: "pw-trigger",
    z: "st",
    name: "cache",
    schedules: [],
    x: 120,
    y: 160,
    wires: [["keepC"]],
  },
  {
    id: "keepC",
    type: "pw-cache",
    z: "st",
    action: "add",
    cache: "price list",
    key: "",
    scope: "global",
    x: 320,
    y: 160,
    wires: [[]],
  },
];

describe("state shapes in the editor (Chromium)", function () {
  this.timeout(120000);
  let ed;
  let page;
  before(async () => {
    ed = await openEditor(
      {
        contextStorage: { default: { module: "localfilesystem" }, memory: { module: "memory" } },
        patchworks: { runs: { settleMs: 40 } },
      },
      flows,
    );
    page = ed.page;
  });
  after(() => ed.close());
  afterEach(screenshotOnFailure(() => page));
  const keyInput = () =>
    page.locator("#node-input-key + .red-ui-typedInput-container input.red-ui-typedInput-input");
  const saved = (id) =>
    page.evaluate((nid) => {
      const n = RED.nodes.node(nid);
      return JSON.parse(JSON.stringify({ ...n, _def: undefined, _: undefined, dirty: undefined }));
    }, id);

  it("sets flow variables when the run ends successfully", async function () {
    const id = await ed.addNode("pw-set-variables", 300, 300);
    await ed.openDialog(id);
    await page.locator(".pw-rule-target").last().selectOption("flow");
    await page.locator(".pw-rule-key").last().fill("lastSyncedAt");
    await page.selectOption("#node-input-writeWhen", "success");
    await ed.pressDone();
    const node = await saved(id);
    assert.equal(node.writeWhen, "success");
    assert.equal(node.rules[0].target, "flow");
  });

  it("configures a de-dupe shape: behaviour, a template key, pool, entity, time to live, duplicates output", async function () {
    const id = await ed.addNode("pw-dedupe", 300, 400);
    await ed.openDialog(id);
    await page.fill("#node-input-name", "Track sent lines");
    await page.selectOption("#node-input-mode", "track");
    await page.evaluate(() => $("#node-input-key").typedInput("type", "template"));
    await keyInput().fill("{{record.order}}-{{record.sku}}");
    await page.fill("#node-input-pool", "order lines");
    await page.fill("#node-input-entity", "lines");
    await page.fill("#node-input-ttl", "30");
    await page.selectOption("#node-input-ttlUnit", "hours");
    await page.selectOption("#node-input-missing", "drop");
    await page.check("#node-input-duplicatesOutput");
    await ed.pressDone();
    const node = await saved(id);
    assert.deepEqual(
      [node.name, node.mode, node.keyType, node.key, node.pool, node.entity, node.ttl, node.ttlUnit],
      [
        "Track sent lines",
        "track",
        "template",
        "{{record.order}}-{{record.sku}}",
        "order lines",
        "lines",
        "30",
        "hours",
      ],
    );
    assert.equal(node.missing, "drop");
    assert.equal(node.outputs, 2);
    assert.equal(node.valid, true);
  });

  it("flags a key the runtime would refuse", async function () {
    const id = await ed.addNode("pw-dedupe", 300, 500);
    await ed.openDialog(id);
    await page.fill("#node-input-pool", "orders");
    await keyInput().fill("line_items..sku");
    await ed.pressDone();
    await waitUntil(async () => (await saved(id)).valid === false, "the node to be flagged");
    await page.evaluate((nid) => {
      RED.nodes.remove(nid);
      RED.view.redraw(true);
    }, id);
  });

  it("shows, imports, exports and clears the pool from the dialog", async function () {
    const started = await ed.rt.api("POST", "/pw/trigger/trig", [{ id: 1 }, { id: 2 }, { id: 3 }]);
    const runId = started.json.run.id;
    await waitUntil(
      async () => (await ed.rt.api("GET", `/pw/runs/${runId}`)).json?.run?.status === "succeeded",
      "the run",
    );
    await ed.openDialog("dd");
    const panel = page.locator("#pw-dedupe-pool");
    await panel.locator(".pw-dedupe-show").click();
    await waitUntil(
      async () => /^3 keys/.test(await panel.locator(".pw-dedupe-summary").textContent()),
      "3 keys",
    );
    assert.match(await panel.locator(".pw-dedupe-summary").textContent(), /orders: 3/);
    assert.equal(await panel.locator(".pw-dedupe-keys li").count(), 3);

    const csv = path.join(fs.mkdtempSync(path.join(os.tmpdir(), "pw-csv-")), "keys.csv");
    fs.writeFileSync(csv, "value,entity\n3,orders\n4,orders\n5,orders\n");
    await panel.locator(".pw-dedupe-file").setInputFiles(csv);
    await waitUntil(
      async () =>
        /2 keys added, 1 already there/.test(await panel.locator(".pw-dedupe-message").textContent()),
      "the import",
    );
    await waitUntil(
      async () => /^5 keys/.test(await panel.locator(".pw-dedupe-summary").textContent()),
      "5 keys",
    );

    const download = page.waitForEvent("download");
    await panel.locator(".pw-dedupe-export").click();
    const file = await (await download).path();
    const lines = fs.readFileSync(file, "utf8").trim().split("\r\n");
    assert.equal(lines[0], "value,entity");
    assert.deepEqual(lines.slice(1).sort(), ["1,orders", "2,orders", "3,orders", "4,orders", "5,orders"]);

    await panel.locator(".pw-dedupe-search").fill("4");
    await panel.locator(".pw-dedupe-show").click();
    await waitUntil(async () => (await panel.locator(".pw-dedupe-keys li").count()) === 1, "one key found");

    const clear = panel.locator(".pw-dedupe-clear");
    await clear.click();
    assert.match(await clear.textContent(), /clear every key of orders\?/);
    await clear.click();
    await waitUntil(
      async () => /Cleared 5 keys/.test(await panel.locator(".pw-dedupe-message").textContent()),
      "the pool to be cleared",
    );
    await page.click("#node-dialog-cancel");
    await page.waitForSelector("#node-dialog-cancel", { state: "detached" });
    const pools = await ed.rt.api("GET", "/pw/dedupe/pools");
    assert.equal(pools.json.pools[0].keys, 0);
  });

  it("configures a cache shape, lists caches with their sizes and clears one", async function () {
    const started = await ed.rt.api("POST", "/pw/trigger/trigC", [{ sku: "A", price: 1 }]);
    await waitUntil(
      async () =>
        (await ed.rt.api("GET", `/pw/runs/${started.json.run.id}`)).json?.run?.status === "succeeded",
      "the run",
    );
    const id = await ed.addNode("pw-cache", 560, 600);
    await ed.openDialog(id);
    await page.selectOption("#node-input-action", "load");
    assert.equal(
      await page.isVisible("#node-input-append"),
      false,
      "adding's settings are hidden when loading",
    );
    await page.fill("#node-input-cache", "price list");
    await page.selectOption("#node-input-scope", "global");
    await page.selectOption("#node-input-store", "memory");
    await page.fill("#node-input-property", "prices");
    await page.selectOption("#node-input-miss", "error");
    const item = page.locator("#pw-cache-list li.pw-cache-item");
    await waitUntil(async () => (await item.count()) === 1, "the cache in the list");
    assert.match(await item.textContent(), /price list \(global, store default\): 1 keys, 1 KB/);
    await item.locator(".pw-cache-clear").click();
    await waitUntil(
      async () => /No cache holds anything yet/.test(await page.locator("#pw-cache-list").textContent()),
      "the cache to be cleared",
    );
    await ed.pressDone();
    const node = await saved(id);
    assert.deepEqual(
      [node.action, node.cache, node.scope, node.store, node.property, node.miss, node.valid],
      ["load", "price list", "global", "memory", "prices", "error", true],
    );
  });

  it("flags a cache size limit the runtime would refuse", async function () {
    const id = await ed.addNode("pw-cache", 300, 700);
    await ed.openDialog(id);
    await page.fill("#node-input-cache", "x");
    await page.fill("#node-input-maxMB", "-3");
    await ed.pressDone();
    await waitUntil(async () => (await saved(id)).valid === false, "the node to be flagged");
  });
});
