// Every example (blueprints/, shipped as examples/) as a user meets it: imported from the
// Import menu, run, deployed twice with a change in between (a full deploy sends the editor's
// copy of every node back, so a setting the editor overwrites shows up here), and run again.
const assert = require("node:assert/strict");
const fs = require("fs");
const path = require("path");
const { openEditor, screenshotOnFailure } = require("../support/editor");
const { waitUntil } = require("../support/wait");

// Small examples of the shapes, and blueprints that do whole jobs, each in its folder.
const FOLDERS = ["Getting started", "Blueprints"];
const FOLDER_OF = {};
for (const folder of FOLDERS)
  for (const f of fs.readdirSync(path.join(__dirname, "..", "..", "blueprints", folder)))
    if (f.endsWith(".json")) FOLDER_OF[f.replace(/\.json$/, "")] = folder;
const EXAMPLES = Object.keys(FOLDER_OF).sort();

/**
 * How each example is run and what it must give: which triggers' buttons to press, the request
 * a webhook example takes, and the outcome expected. Examples that need accounts (instances
 * without secrets) fail the same way before and after the deploys.
 */
const HOW = {
  "Filter, route and batch orders": { press: ["Start"], expect: "succeeded" },
  "Check, split and remember orders": { press: ["Start"], expect: "succeeded" },
  "Run a process flow and wait for its answer": { press: ["Look up customer"], expect: "succeeded" },
  "Schedule, payload and variables": { press: ["Hourly orders"], expect: "succeeded" },
  // Without the Shopify token the pull fails; the webhook trigger (no secret yet) is not pressed.
  "Shopify customers into HubSpot contacts": { press: ["Hourly"], expect: "failed" },
  // Without the Shopify token the product pull fails; webhook triggers (no token yet) are not pressed.
  "Shopify & Descartes Peoplevox": { press: ["Hourly products"], expect: "failed" },
  // Without the Shopify token the pull fails, before anything reaches Klaviyo.
  "Shopify customers into Klaviyo profiles": { press: ["Hourly"], expect: "failed" },
  // Without the WooCommerce keys the pull fails, before anything reaches Shopify.
  "WooCommerce products and stock into Shopify": { press: ["Hourly"], expect: "failed" },
  // Without the Shopify token the pull fails, before anything reaches NetSuite.
  "Shopify orders into NetSuite sales orders": { press: ["Hourly"], expect: "failed" },
  "Webhook with Shopify signature": { post: "/shopify/orders-create" },
  // Without the TikTok Shop secrets the search fails; the fulfilment webhook (no secret yet) is not posted.
  "TikTok Shop orders into Shopify": { press: ["Every 15 minutes"], expect: "failed" },
  // A service shape: without the instances' tokens its runs fail with the reason.
  "Sync customers with a service": { press: ["Shopify customers → HubSpot"], expect: "failed" },
};

describe("the examples in the editor (Chromium)", function () {
  this.timeout(240000);
  let ed;
  let page;
  before(async () => {
    ed = await openEditor({ patchworks: { runs: { settleMs: 40 } } });
    page = ed.page;
  });
  after(() => ed.close());
  afterEach(screenshotOnFailure(() => page));

  const runs = async () => (await ed.rt.api("GET", "/pw/runs?limit=200")).json.runs;

  /** Imports an example through Import > Examples, as a user does. */
  async function importExample(name) {
    await page.click("#red-ui-header-button-sidemenu");
    await page.click("#menu-item-import");
    await page.click("#red-ui-clipboard-dialog-import-tab-examples, .red-ui-tab:has-text('Examples')");
    const tree = page.locator(".ui-dialog .red-ui-treeList-label");
    const folder = tree.filter({ hasText: FOLDER_OF[name] });
    if (!(await folder.isVisible())) await tree.filter({ hasText: "node-red-contrib-patchworks" }).click();
    if (!(await tree.filter({ hasText: name }).isVisible())) await folder.click();
    await tree.filter({ hasText: name }).click();
    await page.click("#red-ui-clipboard-dialog-ok");
    await page.waitForSelector("#red-ui-clipboard-dialog-ok", { state: "hidden" });
  }

  /** Deploys (full, the default), confirming the warning about unconfigured nodes if it comes. */
  async function deploy() {
    await page.click("#red-ui-header-button-deploy");
    const confirm = page.locator("#red-ui-deploy-dialog-confirm-deploy-deploy");
    const done = page.locator(".red-ui-notification:has-text('Successfully deployed')");
    await Promise.race([
      confirm.waitFor({ timeout: 15000 }).then(() => confirm.click()),
      done.first().waitFor({ timeout: 15000 }),
    ]);
    await done.first().waitFor({ timeout: 15000 });
    // Gone before the next deploy, so that one's notification is the one waited for.
    await done.first().click();
    await done.first().waitFor({ state: "detached", timeout: 15000 });
  }

  /** A change as a user makes one (a node moved), then a full deploy. */
  async function changeAndDeploy(tab) {
    await page.evaluate((z) => {
      const n = RED.nodes.filterNodes({ z })[0];
      n.x += 10;
      n.dirty = true;
      n.changed = true;
      RED.nodes.dirty(true);
      RED.view.redraw(true);
    }, tab);
    await deploy();
  }

  /** Runs the example as HOW says and returns what a user would compare: run outcomes, answers. */
  async function runOnce(name, tab) {
    const how = HOW[name];
    if (how.post) {
      const res = await fetch(ed.rt.url + how.post, {
        method: "POST",
        headers: { "content-type": "application/json", "x-shopify-hmac-sha256": "bm90LWEtc2lnbmF0dXJl" },
        body: JSON.stringify({ id: 1, order_number: 1001 }),
      });
      return { answer: res.status };
    }
    const known = new Set((await runs()).map((r) => r.id));
    for (const label of how.press) {
      const id = await page.evaluate(
        ({ z, label }) =>
          RED.nodes
            .filterNodes({ z })
            .find((n) => (n.type === "pw-trigger" || n.type === "pw-service") && n.name === label).id,
        { z: tab, label },
      );
      await page.locator(`g.red-ui-flow-node-group[id='${id}'] .red-ui-flow-node-button`).click();
    }
    const ended = await waitUntil(
      async () => {
        // The runs the buttons started (a child run started by one of them is checked below).
        const mine = (await runs()).filter((r) => !known.has(r.id) && !r.parent);
        return mine.length >= how.press.length &&
          mine.every((r) => r.status !== "running" && r.status !== "queued")
          ? mine
          : undefined;
      },
      `the runs of "${name}" to end`,
      20000,
      100,
    );
    return { runs: ended.map((r) => r.status).sort() };
  }

  for (const name of EXAMPLES) {
    it(`imports "${name}" into a tab of its name, runs it, deploys twice and runs it again`, async function () {
      assert.ok(HOW[name], `say in HOW how to run the example "${name}"`);
      await importExample(name);
      const tab = await page
        .waitForFunction(
          (label) => {
            let id;
            RED.nodes.eachWorkspace((w) => {
              if (w.label === label) id = w.id;
            });
            return id;
          },
          name,
          { timeout: 10000 },
        )
        .then((h) => h.jsonValue())
        .catch(() => undefined);
      assert.ok(tab, `a tab named "${name}"`);
      await page.evaluate((id) => RED.workspaces.show(id), tab);
      await deploy();
      const first = await runOnce(name, tab);
      if (HOW[name].expect)
        assert.ok(
          first.runs.every((s) => s === HOW[name].expect),
          JSON.stringify(first),
        );
      await changeAndDeploy(tab);
      await changeAndDeploy(tab);
      const second = await runOnce(name, tab);
      assert.deepEqual(second, first, "the same outcome after two deploys");
    });
  }

  it("answered the parent run from the child's callback after the deploys", async function () {
    const all = await runs();
    const parents = all.filter((r) => r.parent === undefined && all.some((c) => c.parent === r.id));
    assert.ok(parents.length >= 2, "two parent runs with a child each");
    assert.ok(parents.every((p) => p.status === "succeeded"));
  });

  it("shows every select of the imported shapes set, none blank", async function () {
    const ids = await page.evaluate(() =>
      RED.nodes
        .filterNodes({})
        .filter((n) => /^pw-/.test(n.type))
        .map((n) => n.id),
    );
    const blank = [];
    for (const id of ids) {
      await page.evaluate((nid) => {
        RED.workspaces.show(RED.nodes.node(nid).z);
        RED.editor.edit(RED.nodes.node(nid));
      }, id);
      await page.waitForSelector("#node-dialog-cancel", { state: "visible" });
      await page.waitForTimeout(200);
      const empty = await page.evaluate(() =>
        [...document.querySelectorAll(".red-ui-tray select[id^='node-input-']")]
          .filter(
            (s) =>
              s.options.length > 0 &&
              (s.value === "" || s.selectedIndex < 0) &&
              ![...s.options].some((o) => o.value === "" && o.selected),
          )
          .map((s) => s.id),
      );
      const node = await page.evaluate(
        (nid) => RED.nodes.node(nid).type + ' "' + RED.nodes.node(nid).name + '"',
        id,
      );
      for (const s of empty) blank.push(`${node} ${s}`);
      await page.click("#node-dialog-cancel");
      await page.waitForSelector("#node-dialog-cancel", { state: "detached" });
    }
    assert.deepEqual(blank, []);
  });

  it("lists config nodes and their help by readable names", async function () {
    const got = await page.evaluate(() => ({
      palette: ["pw-instance", "pw-connector", "pw-lookup-table"].map((t) =>
        RED.utils.getPaletteLabel(t, RED.nodes.getType(t)),
      ),
      label: RED.utils.getNodeLabel({
        type: "pw-instance",
        _def: RED.nodes.getType("pw-instance"),
        connector: "shopify",
        _: RED.nodes.getType("pw-instance")._,
      }),
    }));
    assert.deepEqual(got, { palette: ["instance", "connector", "lookup table"], label: "Shopify instance" });
  });

  it("gives no shape a setting named like a property Node-RED writes on nodes", async function () {
    const clashes = await page.evaluate(() => {
      const reserved = ["status", "x", "y", "z", "g", "d", "l", "wires", "type", "id", "info"];
      const found = [];
      for (const type of RED.nodes.registry.getNodeTypes().filter((t) => t.startsWith("pw-"))) {
        const def = RED.nodes.getType(type);
        for (const name of Object.keys(def.defaults || {}).concat(Object.keys(def.credentials || {})))
          if (reserved.includes(name)) found.push(`${type}.${name}`);
      }
      return found;
    });
    assert.deepEqual(clashes, []);
  });

  it("moves the callback's status code saved before the rename (status) to statusCode on import", async function () {
    const got = await page.evaluate(() => {
      RED.view.importNodes(
        [
          { id: "legacytab", type: "tab", label: "Legacy" },
          {
            id: "legacycb",
            type: "pw-callback",
            z: "legacytab",
            status: 201,
            format: "json",
            x: 100,
            y: 100,
            wires: [[]],
          },
          {
            id: "dotcb",
            type: "pw-callback",
            z: "legacytab",
            status: { fill: "green", shape: "dot", text: "answered 200" },
            x: 100,
            y: 160,
            wires: [[]],
          },
        ],
        { generateIds: false },
      );
      const a = RED.nodes.node("legacycb");
      const b = RED.nodes.node("dotcb");
      return { a: a.statusCode, label: RED.utils.getNodeLabel(a), dot: RED.utils.getNodeLabel(b) };
    });
    assert.deepEqual(got, { a: 201, label: "callback 201", dot: "callback 200" });
  });

  it("logged no console errors", function () {
    assert.deepEqual(ed.consoleErrors, []);
  });
});
