// The script, saved script and assert dialogs in Chromium: the code editor with the runtime's
// parse check, versions of a saved script, the JSON editor and ignored paths; then the
// configured shapes deployed and run.
const assert = require("node:assert/strict");
const { openEditor, screenshotOnFailure } = require("../support/editor");
const { waitUntil } = require("../support/wait");

describe("script and assert in the editor (Chromium)", function () {
  this.timeout(120000);
  let ed;
  let page;
  const seen = [];
  before(async () => {
    ed = await openEditor({ functionGlobalContext: { seen }, patchworks: { runs: { settleMs: 40 } } });
    page = ed.page;
  });
  after(() => ed.close());
  afterEach(screenshotOnFailure(() => page));
  const saved = (id) =>
    page.evaluate((nid) => {
      const n = RED.nodes.node(nid);
      return JSON.parse(
        JSON.stringify({ ...n, _def: undefined, _: undefined, dirty: undefined, _editor: undefined }),
      );
    }, id);
  /** Replaces the text of the code editor in `selector`, typed as a user pastes it. */
  async function typeCode(selector, code) {
    await page.click(selector);
    await page.keyboard.press("Control+A");
    await page.keyboard.press("Delete");
    await page.keyboard.insertText(code);
  }
  const problemText = (selector, pattern) =>
    waitUntil(async () => {
      const text = (await page.textContent(selector)) || "";
      return pattern.test(text) && { text };
    }, `${selector} to match ${pattern}`);

  let scriptId;
  it("writes a script, shows where it does not parse as it is typed, and saves the settings", async function () {
    scriptId = await ed.addNode("pw-script", 300, 100);
    await ed.openDialog(scriptId);
    await page.fill("#node-input-name", "Totals");
    assert.ok(await page.isVisible("#pw-script-code"), "the code editor shows for a script written here");
    assert.equal(await page.isVisible("#node-input-script"), false);
    await typeCode("#pw-script-code", "const a = 1;\nreturn a +* 2;");
    await problemText("#pw-script-problem", /line 2, column 11: Unexpected token '\*'/);
    await typeCode(
      "#pw-script-code",
      "meta.count = payload.length;\nreturn payload.map(o => o.qty * o.price);",
    );
    await waitUntil(async () => !(await page.isVisible("#pw-script-problem")), "the problem to clear");
    await page.fill("#node-input-timeout", "30");
    await page.check("#node-input-each");
    await ed.pressDone();
    const node = await saved(scriptId);
    assert.equal(node.code, "meta.count = payload.length;\nreturn payload.map(o => o.qty * o.price);");
    assert.equal(node.timeout, "30");
    assert.equal(node.each, true);
    assert.equal(node.source, "inline");
    assert.equal(node.valid, true);
  });

  it("saves a shared script as numbered versions and pins a shape to one", async function () {
    const id = await ed.addNode("pw-script", 300, 200);
    await ed.openDialog(id);
    await page.selectOption("#node-input-source", "saved");
    assert.equal(await page.isVisible("#pw-script-code"), false);
    await page.click("#node-input-btn-script-add");
    await page.waitForSelector("#node-config-input-name", { state: "visible" });
    await page.fill("#node-config-input-name", "Tag orders");
    assert.match(await page.textContent("#pw-saved-script-current"), /saves version 1/);
    await typeCode("#pw-saved-script-code", "return payload.map(o => ({ ...o, tag: 'v1' }));");
    await page.click("#node-config-dialog-ok");
    await page.waitForSelector("#node-config-input-name", { state: "detached" });
    await waitUntil(
      async () => Boolean(await page.inputValue("#node-input-script")),
      "the new script chosen",
    );
    // Edit it again: a changed script becomes version 2, with a note.
    await page.click("#node-input-btn-script-edit");
    await page.waitForSelector("#node-config-input-name", { state: "visible" });
    assert.match(await page.textContent("#pw-saved-script-current"), /version 1/);
    assert.equal(await page.locator(".pw-saved-script-version").count(), 1);
    await typeCode("#pw-saved-script-code", "return payload.map(o => ({ ...o, tag: 'v2' }));");
    await page.fill("#pw-saved-script-note", "tag v2");
    await page.click("#node-config-dialog-ok");
    await page.waitForSelector("#node-config-input-name", { state: "detached" });
    // Node-RED refills the config select in the tray's close callback, after the dialog is gone.
    await waitUntil(
      async () => (await page.locator("#node-input-version option").count()) === 3,
      "the pin to list version 2",
    );
    const options = await page.locator("#node-input-version option").allTextContents();
    assert.equal(options.length, 3);
    assert.match(options[0], /latest/);
    assert.match(options[1], /^v2 .*tag v2$/);
    await page.selectOption("#node-input-version", "1");
    await ed.pressDone();
    const node = await saved(id);
    assert.equal(node.source, "saved");
    assert.equal(node.version, "1");
    const lib = await page.evaluate((cid) => ({ versions: RED.nodes.node(cid).versions }), node.script);
    assert.deepEqual(
      lib.versions.map((v) => [v.version, v.code, v.note]),
      [
        [1, "return payload.map(o => ({ ...o, tag: 'v1' }));", undefined],
        [2, "return payload.map(o => ({ ...o, tag: 'v2' }));", "tag v2"],
      ],
    );
    assert.equal(node.valid, true);
    await page.evaluate((nid) => {
      RED.nodes.remove(nid);
      RED.view.redraw(true);
    }, id);
  });

  let assertId;
  it("configures an assert: expected JSON, contains, array order and ignored paths", async function () {
    assertId = await ed.addNode("pw-assert", 500, 100);
    await ed.openDialog(assertId);
    await page.fill("#node-input-name", "Totals are right");
    await typeCode("#pw-assert-expected", "totals: 10");
    await problemText("#pw-assert-problem", /not valid JSON/);
    await typeCode("#pw-assert-expected", '[{"total": 10}, {"total": 3}]');
    await page.click("#pw-assert-tidy");
    await waitUntil(async () => !(await page.isVisible("#pw-assert-problem")), "the problem to clear");
    await page.selectOption("#node-input-mode", "subset");
    await page.check("#node-input-ignoreOrder");
    await page.locator(".red-ui-editableList-addButton:has-text('path')").click();
    await page.locator("#pw-assert-paths .pw-assert-path").last().fill("[*].currency");
    await ed.pressDone();
    const node = await saved(assertId);
    assert.deepEqual(JSON.parse(node.expected), [{ total: 10 }, { total: 3 }]);
    assert.match(node.expected, /\n {2}\{/, "tidied");
    assert.equal(node.mode, "subset");
    assert.equal(node.ignoreOrder, true);
    assert.deepEqual(node.ignorePaths, ["[*].currency"]);
    assert.equal(node.valid, true);
  });

  it("deploys the configured shapes and they run as configured", async function () {
    await page.evaluate(
      ({ scriptId, assertId }) => {
        const ws = RED.workspaces.active();
        // The script sends each element on: make it return one array of records instead.
        const script = RED.nodes.node(scriptId);
        script.each = false;
        script.code = "return payload.map(o => ({ total: o.qty * o.price, currency: 'GBP' }));";
        const trig = {
          id: "strig",
          type: "pw-trigger",
          z: ws,
          name: "in",
          schedules: [],
          x: 120,
          y: 100,
          wires: [[]],
        };
        const sink = {
          id: "ssink",
          type: "function",
          z: ws,
          func: "global.get('seen').push(msg.assert); return null;",
          outputs: 0,
          x: 700,
          y: 300,
          wires: [],
        };
        RED.view.importNodes([trig, sink], { generateIds: false });
        RED.nodes.addLink({ source: RED.nodes.node("strig"), sourcePort: 0, target: script });
        RED.nodes.addLink({ source: script, sourcePort: 0, target: RED.nodes.node(assertId) });
        RED.nodes.addLink({
          source: RED.nodes.node(assertId),
          sourcePort: 0,
          target: RED.nodes.node("ssink"),
        });
        RED.nodes.dirty(true);
        RED.view.redraw(true);
      },
      { scriptId, assertId },
    );
    await ed.deploy();
    const run = (
      await ed.rt.api("POST", "/pw/trigger/strig", [
        { qty: 1, price: 3 },
        { qty: 2, price: 5 },
      ])
    ).json.run;
    await waitUntil(() => seen.length > 0, "the assert's result");
    assert.equal(seen[0].pass, true);
    const record = await waitUntil(async () => {
      const r = (await ed.rt.api("GET", `/pw/runs/${run.id}`)).json.run;
      return r && r.status !== "running" && r;
    }, "the run to end");
    assert.equal(record.status, "succeeded");
  });

  it("logged no console errors", function () {
    assert.deepEqual(ed.consoleErrors, []);
  });
});
