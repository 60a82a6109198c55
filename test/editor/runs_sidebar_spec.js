// The Runs sidebar as a user drives it: live list, filters, a run's steps and errors,
// revealing nodes, Retry and Stop.
const assert = require("node:assert/strict");
const fs = require("node:fs");
const { openEditor } = require("../support/editor");
const { waitUntil } = require("../support/wait");

const flows = [
  { id: "f1", type: "tab", label: "Orders" },
  {
    id: "trg",
    type: "pw-trigger",
    z: "f1",
    name: "Order sync",
    schedules: [],
    snapshots: "all",
    x: 120,
    y: 80,
    wires: [["check"]],
  },
  {
    id: "check",
    type: "function",
    z: "f1",
    name: "Check order",
    func: "if (msg.payload.fail) { throw new Error('order ' + msg.payload.id + ' has no lines'); } return msg;",
    outputs: 1,
    x: 320,
    y: 80,
    wires: [["hold"]],
  },
  {
    id: "hold",
    type: "delay",
    z: "f1",
    name: "Hold",
    pauseType: "delay",
    timeout: "1",
    timeoutUnits: "milliseconds",
    rate: "1",
    nbRateUnits: "1",
    rateUnits: "second",
    randomFirst: "1",
    randomLast: "5",
    randomUnits: "seconds",
    drop: false,
    x: 520,
    y: 80,
    wires: [[]],
  },
  { id: "slow", type: "pw-trigger", z: "f1", name: "Slow", schedules: [], x: 120, y: 180, wires: [["wait"]] },
  {
    id: "wait",
    type: "delay",
    z: "f1",
    name: "Wait 20 s",
    pauseType: "delay",
    timeout: "20",
    timeoutUnits: "seconds",
    rate: "1",
    nbRateUnits: "1",
    rateUnits: "second",
    randomFirst: "1",
    randomLast: "5",
    randomUnits: "seconds",
    drop: false,
    x: 320,
    y: 180,
    wires: [[]],
  },
];

describe("Runs sidebar (Chromium)", function () {
  this.timeout(120000);
  let ed;
  let page;
  before(async () => {
    ed = await openEditor({ patchworks: { runs: { settleMs: 50 } } }, flows);
    page = ed.page;
    await page.evaluate(() => RED.actions.invoke("pw-runs:show-runs-tab"));
    await page.waitForSelector(".pw-runs-empty:visible");
  });
  after(() => ed.close());
  afterEach(async function () {
    if (this.currentTest.state === "failed") {
      fs.mkdirSync("test-results", { recursive: true });
      await page
        .screenshot({ path: `test-results/runs-${this.currentTest.title.replace(/\W+/g, "-")}.png` })
        .catch(() => {});
    }
  });

  const items = () =>
    page.$$eval(".pw-runs-item", (els) =>
      els.map((e) => ({
        id: e.getAttribute("data-run"),
        text: e.textContent,
        colour: e.querySelector(".pw-runs-dot").title,
      })),
    );

  it("lists a run started from the trigger's button, live", async function () {
    await page.locator("g.red-ui-flow-node-group[id='trg'] .red-ui-flow-node-button").click();
    await waitUntil(
      async () => (await items()).some((i) => i.colour === "succeeded"),
      "a succeeded run in the list",
      10000,
      100,
    );
    const [first] = await items();
    assert.match(first.text, /Order sync/);
  });

  it("shows what a step received and what it sent, each labelled", async function () {
    await page.locator(".pw-runs-item:has(.pw-runs-dot[title='succeeded'])").first().click();
    await page.locator(".pw-runs-step[data-node='check'] .pw-runs-show-payload").click();
    await page.waitForSelector(".pw-runs-snapshot");
    const kinds = await page.$$eval(".pw-runs-snapshot", (els) =>
      els.map((e) => [e.getAttribute("data-kind"), e.textContent.trim().split(" · ")[0]]),
    );
    assert.deepEqual(kinds, [
      ["received", "received, message 1"],
      ["sent", "sent, message 1"],
    ]);
    await page.click("#pw-runs-back");
  });

  it("shows a failed run's error and steps, and reveals the node of a step", async function () {
    await ed.rt.api("POST", "/pw/trigger/trg", { id: 1042, fail: true });
    await waitUntil(
      async () => (await items()).some((i) => i.colour === "failed"),
      "a failed run",
      10000,
      100,
    );
    await page.locator(".pw-runs-item:has(.pw-runs-dot[title='failed'])").first().click();
    await page.waitForSelector(".pw-runs-errlist li");
    assert.match(await page.textContent(".pw-runs-errlist"), /Check order: order 1042 has no lines/);
    const steps = await page.$$eval(".pw-runs-step", (rows) => rows.map((r) => r.getAttribute("data-node")));
    assert.deepEqual(steps, ["trg", "check"]);
    // Counts say what they count, under headings that say which way.
    assert.deepEqual(
      await page.$$eval(".pw-runs-steps:not(.pw-runs-requests) th", (th) => th.map((h) => h.textContent)),
      ["node", "received", "sent", "time", ""],
    );
    assert.match(
      await page.textContent(".pw-runs-step[data-node='check'] td:nth-child(2)"),
      /^1 (message|record in 1 batch)$/,
    );
    // The steps table fits the sidebar at its default width: nothing to scroll sideways.
    const fits = await page.evaluate(() => {
      const pane = document.querySelector(".pw-runs");
      const table = document.querySelector(".pw-runs-steps");
      return (
        table.getBoundingClientRect().right <= pane.getBoundingClientRect().right + 1 &&
        pane.scrollWidth <= pane.clientWidth
      );
    });
    assert.ok(fits, "the steps table is no wider than the sidebar");
    assert.match(await page.textContent(".pw-runs-payload"), /1042/);
    await page.locator(".pw-runs-step[data-node='check'] .pw-runs-show-payload").click();
    await page.waitForSelector(".pw-runs-snapshot");
    assert.match(await page.textContent(".pw-runs-snapshots"), /Payloads at Check order[\s\S]*1042/);
    await page.locator(".pw-runs-step[data-node='check']").click();
    await waitUntil(
      () => page.evaluate(() => RED.view.selection().nodes?.[0]?.id),
      "the node to be selected",
      5000,
      50,
    ).then((id) => assert.equal(id, "check"));
  });

  it("retries the failed run from its detail", async function () {
    const failedId = await page.textContent(".pw-runs-id");
    await page.click("#pw-runs-retry");
    await waitUntil(
      async () =>
        (await page.textContent(".pw-runs-info").catch(() => "")).includes(failedId) &&
        (await page.textContent(".pw-runs-id")) !== failedId,
      "the retry's detail",
      10000,
      100,
    );
    const retried = await ed.rt.api("GET", `/pw/runs/${await page.textContent(".pw-runs-id")}`);
    assert.equal(retried.json.run.retryOf, failedId);
    assert.equal(retried.json.run.input.payloadJson, '{"id":1042,"fail":true}');
    await page.click("#pw-runs-back");
  });

  it("stops a running run", async function () {
    const started = await ed.rt.api("POST", "/pw/trigger/slow", {});
    const id = started.json.run.id;
    await waitUntil(async () => (await items()).some((i) => i.id === id), "the running run", 10000, 100);
    // The HTTP engine records requests on the step that made them; here the delay node "made" one.
    require("../support/dist").node("contracts").shapeRuns().recordRequest(
      id,
      { id: "wait", type: "delay" },
      {
        method: "GET",
        url: "https://shop.example.com/admin/api/2024-07/orders.json?limit=250",
        status: 429,
        attempts: 3,
        durationMs: 1840,
        at: Date.now(),
      },
    );
    require("../support/dist").node("contracts").shapeRuns().recordRequest(
      id,
      { id: "wait", type: "delay" },
      {
        method: "POST",
        url: "https://api.hubapi.com/crm/v3/objects/contacts",
        status: 422,
        attempts: 1,
        durationMs: 120,
        at: Date.now(),
        error:
          'POST https://api.hubapi.com/crm/v3/objects/contacts answered 422: {"message":"Property email is invalid","token":"***"}',
      },
    );
    await page.locator(`.pw-runs-item[data-run='${id}']`).click();
    await page.locator(".pw-runs-step[data-node='wait'] .pw-runs-show-requests").click();
    assert.match(
      await page.textContent(".pw-runs-request-error"),
      /answered 422: \{"message":"Property email is invalid","token":"\*\*\*"\}/,
    );
    assert.match(
      await page.textContent(".pw-runs-requests"),
      /GET https:\/\/shop\.example\.com\/admin\/api\/2024-07\/orders\.json\?limit=250\s*429\s*3\s*1\.8 s/,
    );
    await page.click("#pw-runs-stop");
    await waitUntil(
      async () => (await ed.rt.api("GET", `/pw/runs/${id}`)).json.run.status === "stopped",
      "the run to stop",
      5000,
      50,
    );
    await waitUntil(
      async () => /stopped/.test(await page.textContent(".pw-runs-info")),
      "the detail to show it",
      5000,
      50,
    );
    await page.click("#pw-runs-back");
  });

  it("filters the list by status and text", async function () {
    await page.selectOption("#pw-runs-status", "failed");
    await waitUntil(
      async () => {
        const list = await items();
        return list.length > 0 && list.every((i) => i.colour === "failed");
      },
      "only failed runs",
      5000,
      100,
    );
    await page.selectOption("#pw-runs-status", "");
    await page.fill("#pw-runs-search", "1042");
    await waitUntil(
      async () => (await items()).length === 2,
      "the two runs with 1042 in their payload",
      5000,
      100,
    );
    await page.fill("#pw-runs-search", "nothing-like-this");
    await page.waitForSelector(".pw-runs-empty:has-text('No runs match')");
    await page.fill("#pw-runs-search", "");
  });

  it("shows triggers deployed without optional settings as valid", async function () {
    const valid = await page.evaluate(() => RED.nodes.node("trg").valid);
    assert.equal(valid, true);
  });

  it("logged no console errors", function () {
    assert.deepEqual(ed.consoleErrors, []);
  });
});
