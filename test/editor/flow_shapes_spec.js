// The flow shapes' dialogs in Chromium: the condition builder (filter, route), flow control,
// split and branch; then the configured flow deployed and run.
const assert = require("node:assert/strict");
const { openEditor, screenshotOnFailure } = require("../support/editor");
const { waitUntil } = require("../support/wait");

describe("flow shapes in the editor (Chromium)", function () {
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
      return JSON.parse(JSON.stringify({ ...n, _def: undefined, _: undefined, dirty: undefined }));
    }, id);

  /** Fills the last condition row of a builder inside `scope`. */
  async function condition(scope, { field, op, type, value, value2, ci }) {
    const row = scope.locator(".pw-cond-rule").last();
    await row.locator(".pw-cond-field").fill(field);
    await row.locator(".pw-cond-op").selectOption(op);
    if (type) await row.locator(".pw-cond-type").selectOption(type);
    if (value !== undefined) await row.locator("input.red-ui-typedInput-input").first().fill(value);
    if (value2 !== undefined) await row.locator(".pw-cond-value2").fill(value2);
    if (ci) await row.locator(".pw-cond-ci").check();
    return row;
  }

  let filterId;
  it("builds filter conditions with a nested OR group and a policy for bad values", async function () {
    filterId = await ed.addNode("pw-filter", 300, 100);
    await ed.openDialog(filterId);
    await page.fill("#node-input-name", "Paid UK or big");
    const builder = page.locator("#pw-filter-conditions");
    await builder.locator(".pw-cond-add").first().click();
    await condition(builder, { field: "financial_status", op: "equals", value: "PAID", ci: true });
    await builder.locator(".pw-cond-add-group").click();
    const group = builder.locator(".pw-cond-group").last();
    await condition(group, { field: "country", op: "in", value: "GB, IE" });
    await group.locator(".pw-cond-add").click();
    await condition(group, { field: "total_price", op: "gt", type: "number", value: "100" });
    await builder.locator(".pw-cond-policy").selectOption("error");
    // By keyboard: the builder's hints change its height as fields lose focus, moving the box.
    await page.focus("#node-input-removedOutput");
    await page.keyboard.press("Space");
    assert.ok(await page.isChecked("#node-input-removedOutput"));
    await ed.pressDone();
    const node = await saved(filterId);
    assert.deepEqual(node.conditions, {
      logic: "and",
      onBadValue: "error",
      rules: [
        {
          field: "financial_status",
          op: "equals",
          value: "PAID",
          valueType: "literal",
          type: "string",
          caseInsensitive: true,
        },
        {
          logic: "or",
          rules: [
            { field: "country", op: "in", value: "GB, IE", valueType: "literal", type: "string" },
            { field: "total_price", op: "gt", value: "100", valueType: "literal", type: "number" },
          ],
        },
      ],
    });
    assert.equal(node.outputs, 2);
    assert.equal(node.valid, true);
  });

  /** The problem the runtime reports for a condition row, once it has answered. */
  const problemOf = (row, pattern) =>
    waitUntil(async () => {
      const text = await row.locator(".pw-cond-problem").textContent();
      return pattern.test(text) && { text };
    }, `a row problem matching ${pattern}`);

  it("shows what is wrong with a condition as it is typed, and flags the node", async function () {
    const id = await ed.addNode("pw-filter", 300, 200);
    await ed.openDialog(id);
    const builder = page.locator("#pw-filter-conditions");
    await builder.locator(".pw-cond-add").first().click();
    const row = await condition(builder, {
      field: "qty",
      op: "between",
      type: "number",
      value: "ten",
      value2: "20",
    });
    await problemOf(row, /"ten" is not a number/);
    assert.ok(await row.locator(".pw-cond-value2").isVisible(), "between shows the upper value");
    await row.locator(".pw-cond-op").selectOption("exists");
    assert.equal(await row.locator(".pw-cond-value2").isVisible(), false);
    await problemOf(row, /^$/);
    await row.locator(".pw-cond-op").selectOption("regex");
    await row.locator(".pw-cond-type").selectOption("string");
    await row.locator("input.red-ui-typedInput-input").first().fill("([a-z");
    await problemOf(row, /not a valid regular expression/);
    await row.locator(".pw-cond-field").fill("line_items..sku");
    await problemOf(row, /path "line_items\.\.sku" has an empty key/);
    assert.ok(await row.locator(".pw-cond-field").evaluate((e) => e.classList.contains("input-error")));
    await row.locator(".pw-cond-field").fill("line_items[*].sku");
    assert.ok(await row.locator(".pw-cond-all").isVisible(), "a path through [*] offers 'all elements'");
    await ed.pressDone();
    await waitUntil(async () => (await saved(id)).valid === false, "the node to be flagged");
    await page.evaluate((nid) => {
      RED.nodes.remove(nid);
      RED.view.redraw(true);
    }, id);
  });

  it("offers regex flags and a date's time zone, checked by the runtime, and says what any and all do with an empty list", async function () {
    const id = await ed.addNode("pw-filter", 300, 300);
    await ed.openDialog(id);
    const builder = page.locator("#pw-filter-conditions");
    const hasError = (input) => input.evaluate((e) => e.classList.contains("input-error"));
    await builder.locator(".pw-cond-add").first().click();
    const sku = await condition(builder, { field: "sku", op: "regex", value: "/^gift-\\d{3}$/i" });
    await problemOf(
      sku,
      /written between slashes as in code; write the pattern alone, \^gift-\\d\{3\}\$, and set the flags i/,
    );
    await sku.locator("input.red-ui-typedInput-input").first().fill("^gift-\\d{3}$");
    assert.ok(await sku.locator(".pw-cond-flags").isVisible(), "a regex offers flags");
    assert.equal(await sku.locator(".pw-cond-zone").isVisible(), false);
    await sku.locator(".pw-cond-flags").fill("gi");
    await problemOf(sku, /the regular expression flag "g" is not supported \(use i, m, s or u/);
    assert.ok(await hasError(sku.locator(".pw-cond-flags")));
    await sku.locator(".pw-cond-flags").fill("im");
    await problemOf(sku, /^$/);
    assert.equal(await hasError(sku.locator(".pw-cond-flags")), false);

    await builder.locator(".pw-cond-add").first().click();
    const at = await condition(builder, { field: "created_at", op: "before", value: "2026-11-27T10:00" });
    assert.ok(await at.locator(".pw-cond-zone").isVisible(), "a date offers a time zone");
    assert.equal(await at.locator(".pw-cond-flags").isVisible(), false);
    await at.locator(".pw-cond-zone").fill("Europe/Londn");
    await problemOf(at, /"Europe\/Londn" is not a time zone/);
    assert.ok(await hasError(at.locator(".pw-cond-zone")));
    await at.locator(".pw-cond-zone").fill("Europe/London");
    await problemOf(at, /^$/);

    await builder.locator(".pw-cond-add").first().click();
    const lines = await condition(builder, { field: "line_items[*].sku", op: "not_equals", value: "GIFT" });
    const hint = () => lines.locator(".pw-cond-hint").textContent();
    assert.match(
      await hint(),
      /^No element: matches when no element matches “equals”, and when the list is empty/,
    );
    await lines.locator(".pw-cond-all").check();
    assert.match(
      await hint(),
      /^Not all elements: matches unless every element matches “equals”, so when at least one does not, and when the list is empty/,
    );
    await lines.locator(".pw-cond-op").selectOption("equals");
    assert.match(await hint(), /^All elements: .*an empty list does not match/);
    await lines.locator(".pw-cond-op").selectOption("not_equals");
    await ed.pressDone();
    const node = await saved(id);
    assert.deepEqual(node.conditions.rules, [
      {
        field: "sku",
        op: "regex",
        value: "^gift-\\d{3}$",
        valueType: "literal",
        type: "string",
        flags: "im",
      },
      {
        field: "created_at",
        op: "before",
        value: "2026-11-27T10:00",
        valueType: "literal",
        zone: "Europe/London",
      },
      {
        field: "line_items[*].sku",
        op: "not_equals",
        value: "GIFT",
        valueType: "literal",
        type: "string",
        all: true,
      },
    ]);
    await page.evaluate((nid) => {
      RED.nodes.remove(nid);
      RED.view.redraw(true);
    }, id);
  });

  let routeId;
  it("configures route labels and conditions, with an otherwise output", async function () {
    routeId = await ed.addNode("pw-route", 300, 300);
    await ed.openDialog(routeId);
    const routes = page.locator("#pw-route-list > li");
    assert.equal(await routes.count(), 2, "two routes to start with");
    await routes.nth(0).locator(".pw-route-label").fill("UK");
    await routes.nth(0).locator(".pw-cond-add").click();
    await condition(routes.nth(0), { field: "country", op: "equals", value: "GB" });
    await routes.nth(1).locator(".pw-route-label").fill("US");
    await routes.nth(1).locator(".pw-cond-add").click();
    await condition(routes.nth(1), { field: "country", op: "equals", value: "US" });
    await page.locator(".red-ui-editableList-addButton:has-text('route')").click();
    await routes.nth(2).locator(".pw-route-label").fill("everything else in EU");
    await page.selectOption("#node-input-mode", "all");
    await ed.pressDone();
    const node = await saved(routeId);
    assert.deepEqual(
      node.routes.map((r) => r.label),
      ["UK", "US", "everything else in EU"],
    );
    assert.deepEqual(node.routes[1].conditions.rules, [
      { field: "country", op: "equals", value: "US", valueType: "literal", type: "string" },
    ]);
    assert.deepEqual(node.routes[2].conditions.rules, [], "no conditions: takes everything");
    assert.equal(node.outputs, 4, "three routes and otherwise");
    assert.equal(node.mode, "all");
    const labels = await page.evaluate((nid) => {
      const n = RED.nodes.node(nid);
      return [0, 1, 2, 3].map((i) => n._def.outputLabels.call(n, i));
    }, routeId);
    assert.deepEqual(labels, ["UK", "US", "everything else in EU", "otherwise"]);
  });

  let fcId;
  it("configures flow control's level, size and pause", async function () {
    fcId = await ed.addNode("pw-flow-control", 500, 100);
    await ed.openDialog(fcId);
    await page.fill("#node-input-level", "orders[*].fulfillments");
    await page.fill("#node-input-size", "2");
    await page.fill("#node-input-delayMs", "0");
    await ed.pressDone();
    const node = await saved(fcId);
    assert.equal(node.level, "orders[*].fulfillments");
    assert.equal(Number(node.size), 2);
    assert.equal(node.valid, true);
    await ed.openDialog(fcId);
    await page.fill("#node-input-size", "0");
    await ed.pressDone();
    await waitUntil(async () => (await saved(fcId)).valid === false, "a batch size of 0 to be flagged");
    await ed.openDialog(fcId);
    await page.fill("#node-input-size", "2");
    await ed.pressDone();
  });

  let splitId;
  it("configures split with a wrapper and parent fields", async function () {
    splitId = await ed.addNode("pw-split", 500, 200);
    await ed.openDialog(splitId);
    await page.fill("#node-input-path", "[*].addresses");
    await page.selectOption("#node-input-mode", "each");
    await page.fill("#node-input-wrapper", "address");
    await page.locator(".red-ui-editableList-addButton:has-text('field')").click();
    await page.locator(".pw-split-from").last().fill("id");
    await page.locator(".pw-split-to").last().fill("customer_id");
    await ed.pressDone();
    const node = await saved(splitId);
    assert.equal(node.path, "[*].addresses");
    assert.equal(node.wrapper, "address");
    assert.deepEqual(node.parentFields, [{ from: "id", to: "customer_id" }]);
    assert.equal(node.valid, true);
  });

  let branchId;
  it("configures branch order and what a failure does", async function () {
    branchId = await ed.addNode("pw-branch", 500, 300);
    await ed.openDialog(branchId);
    const items = page.locator("#pw-branch-list > li");
    await items.nth(0).locator(".pw-branch-label").fill("customer");
    await items.nth(1).locator(".pw-branch-label").fill("address");
    await page.locator(".red-ui-editableList-addButton:has-text('branch')").click();
    await items.nth(2).locator(".pw-branch-label").fill("order");
    await page.selectOption("#node-input-onFailure", "continue");
    await ed.pressDone();
    const node = await saved(branchId);
    assert.deepEqual(node.branches, [{ label: "customer" }, { label: "address" }, { label: "order" }]);
    assert.equal(node.outputs, 3);
    assert.equal(node.onFailure, "continue");
  });

  it("deploys the configured shapes and they run as configured", async function () {
    // Wire trigger → filter → sink in the editor's model, as drawing the wires would.
    await page.evaluate(
      ({ filterId }) => {
        const ws = RED.workspaces.active();
        const trig = {
          id: "ttrig1",
          type: "pw-trigger",
          z: ws,
          name: "orders in",
          schedules: [],
          x: 120,
          y: 100,
          wires: [[]],
        };
        const sink = {
          id: "tsink1",
          type: "function",
          z: ws,
          func: "global.get('seen').push(msg.payload.map(o => o.id)); return null;",
          outputs: 0,
          x: 700,
          y: 400,
          wires: [],
        };
        RED.view.importNodes([trig, sink], { generateIds: false });
        RED.nodes.addLink({
          source: RED.nodes.node("ttrig1"),
          sourcePort: 0,
          target: RED.nodes.node(filterId),
        });
        RED.nodes.addLink({
          source: RED.nodes.node(filterId),
          sourcePort: 0,
          target: RED.nodes.node("tsink1"),
        });
        RED.nodes.dirty(true);
        RED.view.redraw(true);
      },
      { filterId },
    );
    await ed.deploy();
    for (const id of [filterId, routeId, fcId, splitId, branchId])
      assert.ok(ed.rt.RED.nodes.getNode(id), `${id} is running`);
    await ed.rt.api("POST", "/pw/trigger/ttrig1", [
      { id: 1, financial_status: "paid", country: "IE", total_price: "20" },
      { id: 2, financial_status: "paid", country: "US", total_price: "250.00" },
      { id: 3, financial_status: "pending", country: "GB", total_price: "500" },
    ]);
    await waitUntil(() => seen.length > 0, "the filtered records");
    assert.deepEqual(seen[0], [1, 2]);
  });

  it("logged no console errors", function () {
    assert.deepEqual(ed.consoleErrors, []);
  });
});
