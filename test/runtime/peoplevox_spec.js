// The Peoplevox connector end to end in a real runtime: a pw-instance holding the password in
// Node-RED's credentials, connection shapes against the Peoplevox SOAP fake, and a webhook
// trigger that Peoplevox's event callback starts.
const assert = require("node:assert/strict");
const { startRuntime } = require("../support/runtime");
const { waitUntil } = require("../support/wait");
const { startPeoplevox } = require("../../demo/fakes/peoplevox");

describe("Peoplevox connection shapes (runtime)", function () {
  let rt;
  let pvx;
  const seen = [];
  before(async () => {
    pvx = await startPeoplevox({ password: "pvx-runtime-secret" });
    rt = await startRuntime({ functionGlobalContext: { seen }, patchworks: { runs: { settleMs: 40 } } });
  });
  after(async () => {
    await rt.stop();
    await pvx.close();
  });
  beforeEach(() => (seen.length = 0));
  const sink = (id) => ({
    id,
    type: "function",
    z: "t",
    func: `global.get('seen').push({ at: '${id}', payload: msg.payload, page: msg.pw && msg.pw.page, webhook: msg.webhook }); return null;`,
    outputs: 0,
    wires: [],
  });
  const ended = (id) =>
    waitUntil(
      async () => {
        const r = (await rt.api("GET", `/pw/runs/${id}`)).json?.run;
        return r && r.status !== "running" ? r : undefined;
      },
      `run ${id}`,
      15000,
      20,
    );
  async function deploy(nodes) {
    await rt.deploy([
      { id: "t", type: "tab", label: "Peoplevox" },
      {
        id: "pvxinst",
        type: "pw-instance",
        name: "Peoplevox",
        connector: "peoplevox",
        vars: { url: pvx.base, clientId: "acme", username: "integration" },
        secretSlots: { password: 0 },
        credentials: { secret_0: "pvx-runtime-secret" },
      },
      { id: "trig", type: "pw-trigger", z: "t", name: "start", schedules: [], wires: [[nodes[0].id]] },
      ...nodes.map((n) => ({ z: "t", wires: [], ...n })),
    ]);
  }
  const run = async () => ended((await rt.api("POST", "/pw/trigger/trig", {})).json.run.id);
  const items = (n, from = 1) =>
    Array.from({ length: n }, (_, i) => ({ ItemCode: `RT-${from + i}`, Name: `Item ${from + i}` }));

  it("pulls every page of item types, one message a page, and the run succeeds", async function () {
    pvx.seed("Item types", items(1100));
    await deploy([
      {
        id: "pull",
        type: "pw-connection",
        instance: "pvxinst",
        endpoint: "list-item-types",
        wires: [["out"]],
      },
      sink("out"),
    ]);
    const r = await run();
    assert.equal(r.status, "succeeded");
    assert.deepEqual(
      seen.map((s) => [s.payload.length, s.page.number, s.page.last]),
      [
        [500, 1, false],
        [500, 2, false],
        [100, 3, true],
      ],
    );
    assert.equal(r.steps.pull.requests.length, 3, "three pages in the run log");
    assert.ok(!JSON.stringify(r).includes("pvx-runtime-secret"));
  });

  it("saves sales order lines, sends the refused one to the failure output, and reads the rest back", async function () {
    pvx.seed("Item types", items(1, 900));
    await deploy([
      {
        id: "mp",
        type: "pw-manual-payload",
        format: "json",
        payload: JSON.stringify([
          { SalesOrderNumber: "#2001", ItemCode: "RT-900", Quantity: "1" },
          { SalesOrderNumber: "#2001", ItemCode: "GHOST", Quantity: "1" },
        ]),
        wires: [["push"]],
      },
      {
        id: "push",
        type: "pw-connection",
        instance: "pvxinst",
        endpoint: "save-sales-order-lines",
        failureOutput: true,
        outputs: 2,
        wires: [["ok"], ["bad"]],
      },
      sink("ok"),
      sink("bad"),
    ]);
    const r = await run();
    assert.equal(r.status, "completed with failures");
    assert.equal(r.failedRecords, 1);
    const bad = seen.find((s) => s.at === "bad");
    assert.deepEqual(bad.payload[0].record, { SalesOrderNumber: "#2001", ItemCode: "GHOST", Quantity: "1" });
    assert.match(bad.payload[0].error, /record 2 of 2: Item type GHOST does not exist/);
    assert.equal(bad.payload[0].outcome, "refused");
    assert.deepEqual(
      pvx.rows("Sales order lines").map((l) => l.ItemCode),
      ["RT-900"],
    );
  });

  it("signs in again once after Peoplevox expired the session, and retries a page that faulted", async function () {
    pvx.seed("Item types", items(3, 500));
    await deploy([
      {
        id: "pull",
        type: "pw-connection",
        instance: "pvxinst",
        endpoint: "get-data",
        params: [
          { key: "templateName", valueType: "str", value: "Item types" },
          {
            key: "searchClause",
            valueType: "str",
            value: '[ItemCode] >= "RT-500" AND [ItemCode] <= "RT-502"',
          },
        ],
        wires: [["out"]],
      },
      sink("out"),
    ]);
    await run();
    const logins = pvx.calls.filter((c) => c[0] === "Authenticate").length;
    pvx.expireSessions();
    pvx.failNext(1, "fault", 2); // expired answer, Authenticate, then a fault
    seen.length = 0;
    const r = await run();
    assert.equal(r.status, "succeeded");
    assert.equal(pvx.calls.filter((c) => c[0] === "Authenticate").length, logins + 1);
    assert.deepEqual(
      seen[0].payload.map((i) => i.ItemCode),
      ["RT-500", "RT-501", "RT-502"],
    );
  });

  it("subscribes a webhook trigger to an event; Peoplevox's callback starts a run, and unsubscribing stops them", async function () {
    await deploy([
      {
        id: "mp",
        type: "pw-manual-payload",
        format: "json",
        payload: JSON.stringify({
          eventType: "AvailabilityChanges",
          postUrl: `${rt.hooks}/pvx/stock`,
          postParams: "sku={ItemCode}&available={Available}",
        }),
        wires: [["sub"]],
      },
      {
        id: "sub",
        type: "pw-connection",
        instance: "pvxinst",
        endpoint: "subscribe-post-event",
        wires: [["subbed"]],
      },
      sink("subbed"),
      {
        id: "hook",
        type: "pw-trigger",
        name: "stock changed",
        schedules: [],
        webhook: true,
        path: "/pvx/stock",
        methods: "POST",
        auth: "none",
        wires: [["got"]],
      },
      sink("got"),
    ]);
    const r = await run();
    assert.equal(r.status, "succeeded");
    const answer = seen.find((s) => s.at === "subbed").payload;
    const id = JSON.stringify(answer).match(/"Detail":(\d+)/)[1];
    assert.deepEqual(await pvx.emit("AvailabilityChanges", { ItemCode: "RT-1", Available: 7 }), [200]);
    await waitUntil(() => seen.some((s) => s.at === "got"), "the webhook run");
    assert.deepEqual(seen.find((s) => s.at === "got").payload, { sku: "RT-1", available: "7" });
    await pvx.emit("AvailabilityChanges", { ItemCode: "RT-2", Available: 0 });
    await waitUntil(() => seen.filter((s) => s.at === "got").length === 2, "the second webhook run");
    // Unsubscribe: no more callbacks.
    await deploy([
      {
        id: "mp",
        type: "pw-manual-payload",
        format: "json",
        payload: JSON.stringify({ subscriptionId: id }),
        wires: [["unsub"]],
      },
      { id: "unsub", type: "pw-connection", instance: "pvxinst", endpoint: "unsubscribe-event", wires: [] },
    ]);
    assert.equal((await run()).status, "succeeded");
    assert.deepEqual(await pvx.emit("AvailabilityChanges", { ItemCode: "RT-3", Available: 1 }), []);
  });
});
