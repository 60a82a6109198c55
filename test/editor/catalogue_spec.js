// The Runs sidebar and the condition builder say what their catalogues say: the editor is
// served the plugins' catalogues with every message marked «…», and every word they show
// is marked too (an English string left in their code would show unmarked).
const assert = require("node:assert/strict");
const { openEditor, screenshotOnFailure } = require("../support/editor");
const { waitUntil } = require("../support/wait");

const flows = [
  { id: "f1", type: "tab", label: "Orders" },
  {
    id: "trg",
    type: "pw-trigger",
    z: "f1",
    name: "Order sync",
    schedules: [],
    x: 120,
    y: 80,
    wires: [["flt"]],
  },
  {
    id: "flt",
    type: "pw-filter",
    z: "f1",
    conditions: {
      logic: "or",
      rules: [
        { field: "status", op: "not_equals", value: "paid", valueType: "literal", type: "string" },
        { field: "email", op: "not_exists" },
      ],
    },
    keep: "matching",
    outputs: 1,
    x: 320,
    y: 80,
    wires: [[]],
  },
];

/** Marks every message of a catalogue: «text». */
function mark(messages) {
  for (const [k, v] of Object.entries(messages)) {
    if (typeof v === "string") messages[k] = `«${v}»`;
    else if (v && typeof v === "object") mark(v);
  }
}
const marked = (text) => /^«[^«»]*»$/.test(text.trim());

describe("plugins' catalogues in the editor (Chromium)", function () {
  this.timeout(120000);
  let ed;
  let page;
  let namespaces;
  before(async () => {
    ed = await openEditor({ patchworks: { runs: { settleMs: 40 } } }, flows);
    page = ed.page;
    namespaces = [];
    await page.route("**/plugins/messages*", async (route) => {
      const response = await route.fetch();
      const json = await response.json();
      for (const ns of Object.keys(json)) {
        if (/\/pw-(runs|editor)$/.test(ns)) {
          namespaces.push(ns);
          mark(json[ns]);
        }
      }
      await route.fulfill({ response, json });
    });
    await page.reload();
    await page.waitForSelector(".red-ui-palette-node[data-palette-type='pw-trigger']", { timeout: 30000 });
    await page.waitForFunction(
      () => window.RED && RED.nodes && RED.workspaces.active() && RED.nodes.node("flt"),
    );
  });
  after(() => ed.close());
  afterEach(screenshotOnFailure(() => page));

  it("loads both plugins' catalogues under <module>/<plugin>", function () {
    // Asked for once per language the browser prefers; the same two each time.
    assert.deepEqual([...new Set(namespaces)].sort(), [
      "node-red-contrib-patchworks/pw-editor",
      "node-red-contrib-patchworks/pw-runs",
    ]);
  });

  it("labels the Runs sidebar, its filters and its empty list from the catalogue", async function () {
    await page.evaluate(() => RED.actions.invoke("pw-runs:show-runs-tab"));
    await page.waitForSelector("#pw-runs-status");
    const texts = await page.evaluate(() => [
      ...[...document.querySelectorAll("#pw-runs-status option, #pw-runs-scope option")].map(
        (o) => o.textContent,
      ),
      document.querySelector("#pw-runs-search").placeholder,
      document.querySelector(".pw-runs-empty").textContent,
    ]);
    assert.ok(texts.length > 7, `the runtime's statuses are offered: ${texts}`);
    assert.deepEqual(
      texts.filter((t) => !marked(t)),
      [],
    );
  });

  it("shows a run's list entry and detail in the catalogue's words", async function () {
    await page.locator("g.red-ui-flow-node-group[id='trg'] .red-ui-flow-node-button").click();
    const item = page.locator(".pw-runs-item").first();
    await item.waitFor();
    assert.ok(marked(await item.locator(".pw-runs-dot").getAttribute("title")));
    await waitUntil(
      async () => /«/.test(await item.locator(".pw-runs-meta").textContent()),
      "the run's time",
    );
    await item.click();
    await page.waitForSelector(".pw-runs-info");
    const texts = await page.evaluate(() => [
      ...[...document.querySelectorAll(".pw-runs-head button")].map((b) => b.textContent),
      ...[
        ...document.querySelectorAll(".pw-runs-info td:first-child, .pw-runs-section, .pw-runs-steps th"),
      ].map((e) => e.textContent),
    ]);
    assert.deepEqual(
      texts.filter((t) => t.trim() !== "" && !marked(t)),
      [],
    );
    await page.click("#pw-runs-back");
  });

  it("builds the condition builder and describes conditions in the catalogue's words", async function () {
    const label = await page.evaluate(() => {
      const n = RED.nodes.node("flt");
      return n._def.label.call(n);
    });
    assert.match(label, /status «not equals» paid «or» email «not exists»/);
    await ed.openDialog("flt");
    const builder = page.locator("#pw-filter-conditions");
    await builder.locator(".pw-cond-rule").first().waitFor();
    const texts = await builder.evaluate((root) => [
      ...[...root.querySelectorAll(".pw-cond-rule")[0].querySelectorAll("option, optgroup")].map(
        (o) => o.label || o.textContent,
      ),
      ...[
        ...root.parentElement.querySelectorAll(".pw-cond-add, .pw-cond-add-group, .pw-cond-policy option"),
      ].map((e) => e.textContent),
      root.querySelector(".pw-cond-field").placeholder,
      root.querySelector(".pw-cond-value2").placeholder,
      root.querySelector(".pw-cond-ci").parentElement.title,
      root.querySelector(".pw-cond-ci").parentElement.textContent,
    ]);
    assert.deepEqual(
      texts.filter((t) => !marked(t)),
      [],
    );
    await page.click("#node-dialog-cancel");
  });

  it("logged no console errors", function () {
    assert.deepEqual(ed.consoleErrors, []);
  });
});
