// Field pickers wherever a path is typed: the filter and route dialogs offer the fields of a
// record sample (the connection's endpoint sample, the shape before, the last payload) and
// test their conditions on it in the runtime; the map finds the endpoint sample through the
// filters and routes between it and the connection.
const assert = require("node:assert/strict");
const { openEditor, screenshotOnFailure } = require("../support/editor");

const none = { logic: "and", rules: [] };
const records = [
  { status: "paid", total: 12, customer: { email: "a@example.com" } },
  { status: "open", total: 5, customer: { email: "b@example.com" } },
  { status: "paid", total: 30, customer: { email: "c@example.com" } },
];
const flows = [
  { id: "f1", type: "tab", label: "Samples" },
  {
    id: "inst",
    type: "pw-instance",
    name: "Acme",
    connector: "shopify",
    vars: { shop: "acme.myshopify.com" },
  },
  {
    id: "conn",
    type: "pw-connection",
    z: "f1",
    name: "Orders",
    instance: "inst",
    endpoint: "list-orders",
    params: [],
    x: 120,
    y: 80,
    wires: [["flt"]],
  },
  { id: "flt", type: "pw-filter", z: "f1", name: "Paid", conditions: none, x: 300, y: 80, wires: [["rte"]] },
  {
    id: "rte",
    type: "pw-route",
    z: "f1",
    name: "By country",
    routes: [{ label: "all", conditions: none }],
    otherwise: false,
    outputs: 1,
    x: 480,
    y: 80,
    wires: [["map"]],
  },
  { id: "map", type: "pw-map", z: "f1", name: "To CRM", rules: [], x: 660, y: 80, wires: [[]] },
  { id: "trg", type: "pw-trigger", z: "f1", name: "Start", schedules: [], x: 120, y: 200, wires: [["mp"]] },
  {
    id: "mp",
    type: "pw-manual-payload",
    z: "f1",
    name: "Orders",
    format: "json",
    payload: JSON.stringify(records),
    x: 300,
    y: 200,
    wires: [["flt2"]],
  },
  { id: "flt2", type: "pw-filter", z: "f1", name: "Check", conditions: none, x: 480, y: 200, wires: [[]] },
];

describe("record samples in the filter, route and map dialogs (Chromium)", function () {
  this.timeout(120000);
  let ed;
  let page;
  before(async () => {
    ed = await openEditor({ patchworks: { runs: { settleMs: 40 } } }, flows);
    page = ed.page;
    // The endpoint samples come with the connectors, loaded once the editor starts.
    await page.waitForFunction(() => RED.pwEndpointSample && RED.pwEndpointSample("inst", "list-orders"));
  });
  after(() => ed.close());
  afterEach(screenshotOnFailure(() => page));

  const offered = (row) =>
    row.locator(".pw-cond-field").evaluate((input) => {
      const list = input.list;
      return list ? [...list.options].map((o) => o.value) : [];
    });

  it("offers the fields of the connection's endpoint sample in a filter's conditions", async function () {
    await ed.openDialog("flt");
    assert.match(await page.inputValue(".pw-sample-text"), /450789469/, "the sample from the connection");
    await page.click(".pw-cond-add");
    const row = page.locator(".pw-cond-rule").first();
    await page.waitForFunction(() => {
      const input = document.querySelector(".pw-cond-field");
      return input && input.list && input.list.options.length > 0;
    });
    const fields = await offered(row);
    for (const f of ["email", "customer.email", "line_items[*].sku", "shipping_address.country_code"])
      assert.ok(fields.includes(f), `${f} is offered (got ${fields.join(", ")})`);
    await page.click("#node-dialog-cancel");
  });

  it("tests a filter's conditions on the sample in the runtime", async function () {
    await ed.openDialog("flt2");
    assert.deepEqual(
      JSON.parse(await page.inputValue(".pw-sample-text")),
      records,
      "the manual payload before",
    );
    await page.click(".pw-cond-add");
    const row = page.locator(".pw-cond-rule").first();
    await row.locator(".pw-cond-field").fill("status");
    await row.locator("input.red-ui-typedInput-input").first().fill("paid");
    await page.click(".pw-cond-test");
    await page.waitForFunction(() =>
      /records match/.test(document.querySelector(".pw-cond-test-result").textContent),
    );
    const result = await page.textContent(".pw-cond-test-result");
    assert.match(result, /^2 of 3 records match/);
    assert.match(result, /c@example\.com/);
    assert.doesNotMatch(result, /b@example\.com/);

    // A value the conditions cannot compare, with "fail the message": the engine's own error.
    await row.locator(".pw-cond-op").selectOption("gt");
    await row.locator(".pw-cond-type").selectOption("number");
    await row.locator("input.red-ui-typedInput-input").first().fill("3");
    await page.selectOption(".pw-cond-policy", "error");
    await page.click(".pw-cond-test");
    await page.waitForFunction(() =>
      document.querySelector(".pw-cond-test-result").classList.contains("pw-cond-test-bad"),
    );
    assert.match(await page.textContent(".pw-cond-test-result"), /record 0: field "status"/);
    await page.click("#node-dialog-cancel");
  });

  it("takes the last payload the shape received as its sample", async function () {
    await ed.rt.api("POST", "/pw/trigger/trg", {});
    await ed.openDialog("flt2");
    await page.fill(".pw-sample-text", "");
    await page.click(".pw-sample-last");
    await page.waitForFunction(() => /paid/.test(document.querySelector(".pw-sample-text").value));
    assert.deepEqual(JSON.parse(await page.inputValue(".pw-sample-text")), records[0]);
    await page.click("#node-dialog-cancel");
  });

  it("offers the sample's fields in every route's conditions, with a Test button each", async function () {
    await ed.openDialog("rte");
    assert.match(await page.inputValue(".pw-sample-text"), /450789469/, "through the filter before");
    await page.click(".pw-route-conditions .pw-cond-add");
    await page.waitForFunction(() => {
      const input = document.querySelector(".pw-route-conditions .pw-cond-field");
      return input && input.list && input.list.options.length > 0;
    });
    assert.ok(
      (await offered(page.locator(".pw-route-conditions .pw-cond-rule").first())).includes("total_price"),
    );
    await page.locator(".pw-route-conditions .pw-cond-field").first().fill("currency");
    await page.locator(".pw-route-conditions input.red-ui-typedInput-input").first().fill("USD");
    await page.click(".pw-route-conditions .pw-cond-test");
    await page.waitForFunction(() =>
      /records match/.test(document.querySelector(".pw-cond-test-result").textContent),
    );
    assert.match(await page.textContent(".pw-cond-test-result"), /^1 of 1 records match/);
    await page.click("#node-dialog-cancel");
  });

  it("offers the map the connection's endpoint sample through a filter and a route", async function () {
    await ed.openDialog("map");
    assert.ok(await page.isVisible("#pw-map-upstream"));
    await page.waitForFunction(() => document.querySelectorAll("#pw-map-source-fields option").length > 0);
    assert.equal(JSON.parse(await page.inputValue("#pw-map-sample")).id, 450789469);
    await page.click("#node-dialog-cancel");
  });

  it("logged no console errors", function () {
    assert.deepEqual(ed.consoleErrors, []);
  });
});
