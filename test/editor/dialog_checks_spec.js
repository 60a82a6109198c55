// Validation inside the dialogs: what the runtime would refuse at deploy is marked on the field
// while typing, with the runtime's own message beside it, every problem at once; the node's
// error list holds them all.
const assert = require("node:assert/strict");
const { openEditor, screenshotOnFailure } = require("../support/editor");

const flows = [
  { id: "f1", type: "tab", label: "Orders" },
  {
    id: "trig",
    type: "pw-trigger",
    z: "f1",
    name: "nightly",
    schedules: [
      { type: "cron", cron: "0 9 * * *", tz: "UTC" },
      { type: "minutes", every: 5, tz: "UTC" },
    ],
    x: 150,
    y: 80,
    wires: [["map"]],
  },
  {
    id: "map",
    type: "pw-map",
    z: "f1",
    name: "to HubSpot",
    rules: [
      { source: "email", target: "email" },
      { source: "sku", target: "code", transforms: [{ type: "replace", find: "([a-z", regex: true }] },
    ],
    x: 350,
    y: 80,
    wires: [[]],
  },
  {
    id: "pay",
    type: "pw-manual-payload",
    z: "f1",
    name: "sample",
    format: "json",
    payload: "{}",
    x: 150,
    y: 180,
    wires: [[]],
  },
  {
    id: "rt",
    type: "pw-route",
    z: "f1",
    name: "by sku",
    routes: [
      { label: "a", conditions: { logic: "and", rules: [{ field: "sku", op: "regex", value: "([a-z" }] } },
      { label: "b", conditions: { logic: "and", rules: [{ field: "ref", op: "regex", value: "(x" }] } },
    ],
    otherwise: false,
    outputs: 2,
    x: 350,
    y: 180,
    wires: [[], []],
  },
];

describe("checks inside the dialogs (Chromium)", function () {
  this.timeout(120000);
  let ed;
  let page;
  before(async () => {
    ed = await openEditor({}, flows);
    page = ed.page;
  });
  after(() => ed.close());
  afterEach(screenshotOnFailure(() => page));

  const messagesOf = (row) => row.locator(".pw-check-messages .pw-check-message").allTextContents();

  it("marks a bad cron on its field while typing, and a bad time zone in another row, both at once", async function () {
    await ed.openDialog("trig");
    const rows = page.locator("#node-input-schedule-list > li");
    const first = rows.nth(0);
    const second = rows.nth(1);
    await first.locator(".pw-cron").fill("99 * * * *");
    await first.locator(".pw-check-messages .pw-check-message").first().waitFor();
    assert.match((await messagesOf(first)).join("\n"), /^schedule 1: cron "99 \* \* \* \*" is not valid/);
    assert.ok(await first.locator(".pw-cron.input-error").isVisible(), "the cron field is marked");

    await second.locator(".pw-schedule-tz").fill("Mars/Olympus");
    await second.locator(".pw-check-messages .pw-check-message").first().waitFor();
    assert.match((await messagesOf(second)).join("\n"), /^schedule 2: unknown time zone "Mars\/Olympus"/);
    assert.ok(await second.locator(".pw-schedule-tz.input-error").isVisible(), "the time zone is marked");
    // The first row's message stays: every problem is shown, not the first only.
    assert.equal((await messagesOf(first)).length, 1);
    assert.equal(await second.locator(".pw-every-minutes.input-error").count(), 0, "only the input at fault");

    // Fixed while typing: the message goes.
    await first.locator(".pw-cron").fill("0 9 * * *");
    await page.waitForFunction(
      () => !document.querySelector("#node-input-schedule-list > li .pw-cron.input-error"),
      null,
      { timeout: 5000 },
    );
    assert.deepEqual(await messagesOf(first), []);
    await first.locator(".pw-cron").fill("99 * * * *");
    await first.locator(".pw-check-messages .pw-check-message").first().waitFor();

    await ed.pressDone();
    const errors = await page.waitForFunction(
      () => {
        const n = RED.nodes.node("trig");
        return n.valid === false && n.validationErrors.length === 2 && n.validationErrors;
      },
      null,
      { timeout: 10000 },
    );
    const list = await errors.jsonValue();
    assert.match(list[0], /^schedule 1: cron "99 \* \* \* \*" is not valid/);
    assert.match(list[1], /^schedule 2: unknown time zone "Mars\/Olympus"/);
  });

  it("shows every map rule's problem under its rule: a rule with no target, a regex that does not compile", async function () {
    await ed.openDialog("map");
    const rows = page.locator("#pw-map-rules > li");
    // The saved regex is flagged as the dialog opens.
    await rows.nth(1).locator(".pw-check-messages .pw-check-message").first().waitFor();
    assert.match(
      (await messagesOf(rows.nth(1))).join("\n"),
      /^rule 2: transform 1 \(replace\): .*regular expression/,
    );
    await rows.nth(0).locator(".pw-map-target").fill("");
    await rows.nth(0).locator(".pw-check-messages .pw-check-message").first().waitFor();
    assert.deepEqual(await messagesOf(rows.nth(0)), ["rule 1: needs a target field"]);
    assert.ok(await rows.nth(0).locator(".pw-map-target.input-error").isVisible());
    assert.equal((await messagesOf(rows.nth(1))).length, 1, "the other rule's message stays");
    await ed.pressDone();
    const errors = await page.waitForFunction(
      () => {
        const n = RED.nodes.node("map");
        return n.valid === false && n.validationErrors.length === 2 && n.validationErrors;
      },
      null,
      { timeout: 10000 },
    );
    const list = await errors.jsonValue();
    assert.equal(list[0], "rule 1: needs a target field");
    assert.match(list[1], /^rule 2: transform 1 \(replace\)/);
  });

  it("shows the runtime's message under a manual payload that is not JSON", async function () {
    await ed.openDialog("pay");
    await page.evaluate(() => RED.nodes.node("pay").editor.setValue("{oops", 1));
    const message = page.locator("#node-input-payload-editor + .pw-check-messages .pw-check-message");
    await message.first().waitFor();
    assert.match(await message.first().textContent(), /^not valid JSON: /);
    assert.ok(await page.locator("#node-input-payload-editor.input-error").isVisible());
    await page.evaluate(() => RED.nodes.node("pay").editor.setValue('{"ok": true}', 1));
    await message.first().waitFor({ state: "detached" });
    await page.click("#node-dialog-cancel");
    await page.waitForSelector("#node-dialog-cancel", { state: "detached" });
  });

  it("lists every route's bad regex in the node's errors, not the first only", async function () {
    const errors = await page.waitForFunction(
      () => {
        const n = RED.nodes.node("rt");
        return n.valid === false && n.validationErrors.length === 2 && n.validationErrors;
      },
      null,
      { timeout: 10000 },
    );
    const list = await errors.jsonValue();
    assert.match(list[0], /^route 1: rule 1 \(sku regex\): .*not a valid regular expression/);
    assert.match(list[1], /^route 2: rule 1 \(ref regex\): .*not a valid regular expression/);
  });

  it("logged no console errors", function () {
    assert.deepEqual(ed.consoleErrors, []);
  });
});
