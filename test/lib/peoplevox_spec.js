// The prebuilt Descartes Peoplevox connector against the Peoplevox fake, a real SOAP server
// (the soap package) serving Peoplevox's documented operations: Authenticate with a
// base64-encoded password, the session in the UserSessionCredentials SOAP header, GetData's
// CSV pages in XML, SaveData's CSV with per-line errors, event subscriptions, and Peoplevox's
// way of saying a call failed (ResponseId -1 in a 200), an expired session included.
const assert = require("node:assert/strict");
const { lib } = require("../support/dist");
const { startPeoplevox } = require("../../demo/fakes/peoplevox");
const { loadPrebuilt, validateDefinition } = lib("connectors/definition");
const { ConnectorClient } = lib("connectors/client");

const peoplevox = loadPrebuilt().find((d) => d.id === "peoplevox");
const collect = async (gen) => {
  const pages = [];
  for await (const p of gen) pages.push(p);
  return pages;
};
let count = 0;

describe("Peoplevox connector (SOAP)", function () {
  let pvx;
  const client = (vars = {}, extra = {}) =>
    new ConnectorClient(peoplevox, {
      id: `pvx-${++count}`,
      vars: { url: pvx.base, clientId: "acme", username: "integration", password: "pvx-secret", ...vars },
      rateLimit: [],
      ...extra,
    });
  beforeEach(async () => {
    pvx = await startPeoplevox();
  });
  afterEach(() => pvx.close());

  const items = (n, from = 1) =>
    Array.from({ length: n }, (_, i) => ({
      ItemCode: `SKU-${String(from + i).padStart(4, "0")}`,
      Name: `Item ${from + i}, "special" & <b>`,
      Barcode: `50${from + i}`,
    }));

  it("signs in with the password base64-encoded and reads every page of a template as records", async function () {
    pvx.seed("Item types", items(1203));
    const pages = await collect(client().receive("list-item-types"));
    assert.deepEqual(
      pages.map((p) => p.records.length),
      [500, 500, 203],
    );
    assert.equal(pages.at(-1).last, true);
    const all = pages.flatMap((p) => p.records);
    assert.deepEqual(all[0], { ItemCode: "SKU-0001", Name: 'Item 1, "special" & <b>', Barcode: "501" });
    assert.equal(new Set(all.map((r) => r.ItemCode)).size, 1203);
    const gets = pvx.calls.filter((c) => c[0] === "GetData");
    assert.deepEqual(
      gets.map((c) => [c[1], c[2], c[3]]),
      [
        ["Item types", 1, 500],
        ["Item types", 2, 500],
        ["Item types", 3, 500],
      ],
      "pages by number in the envelope, stopping at TotalCount without an empty page",
    );
    assert.equal(pvx.calls.filter((c) => c[0] === "Authenticate").length, 1);
  });

  it("stops after a full last page when TotalCount says so, and reads an empty template as no records", async function () {
    pvx.seed("Item types", items(1000));
    const pages = await collect(client().receive("list-item-types"));
    assert.deepEqual(
      pages.map((p) => p.records.length),
      [500, 500],
    );
    const empty = await collect(client().receive("list-sales-orders"));
    assert.deepEqual(
      empty.map((p) => p.records),
      [[]],
    );
  });

  it("reads only the first page for a connection test", async function () {
    pvx.seed("Item types", items(600));
    const pages = await collect(client().receive("list-item-types", { firstPageOnly: true }));
    assert.deepEqual(
      pages.map((p) => p.records.length),
      [500],
    );
    assert.deepEqual(
      pvx.calls.filter((c) => c[0] === "GetData").map((c) => c[2]),
      [1],
    );
  });

  it("passes a search clause and a template name XML-escaped", async function () {
    pvx.seed("Item types", items(3));
    const pages = await collect(
      client().receive("get-data", {
        params: { templateName: "Item types", searchClause: '([ItemCode].Equals("SKU-0002"))' },
      }),
    );
    assert.deepEqual(
      pages[0].records.map((r) => r.ItemCode),
      ["SKU-0002"],
    );
  });

  it("creates records with SaveData that GetData reads back, and updates them by key", async function () {
    const c = client();
    const sent = await c.send("save-item-types", items(3));
    assert.equal(sent.failed.length, 0);
    assert.equal(sent.ok[0].records.length, 3);
    await c.send("save-item-types", [{ ItemCode: "SKU-0002", Name: "Renamed", Barcode: "502" }]);
    const back = (await collect(c.receive("list-item-types"))).flatMap((p) => p.records);
    assert.deepEqual(
      back.map((r) => [r.ItemCode, r.Name]),
      [
        ["SKU-0001", 'Item 1, "special" & <b>'],
        ["SKU-0002", "Renamed"],
        ["SKU-0003", 'Item 3, "special" & <b>'],
      ],
    );
  });

  it("sends the records Peoplevox refused per line to the failures, the rest as saved", async function () {
    const c = client();
    await c.send("save-item-types", items(1));
    const result = await c.send("save-sales-order-lines", [
      { SalesOrderNumber: "#1001", ItemCode: "SKU-0001", Quantity: "2" },
      { SalesOrderNumber: "#1001", ItemCode: "NOPE", Quantity: "1" },
      { SalesOrderNumber: "#1002", ItemCode: "SKU-0001", Quantity: "" },
    ]);
    assert.deepEqual(result.ok[0].records, [
      { SalesOrderNumber: "#1001", ItemCode: "SKU-0001", Quantity: "2" },
    ]);
    assert.deepEqual(
      result.failed.map((f) => [f.records[0].ItemCode, f.outcome]),
      [
        ["NOPE", "refused"],
        ["SKU-0001", "refused"],
      ],
    );
    assert.match(result.failed[0].error, /record 2 of 3: Item type NOPE does not exist/);
    assert.match(result.failed[1].error, /record 3 of 3: Quantity is required/);
    assert.equal(pvx.rows("Sales order lines").length, 1);
  });

  it("retries a page after a SOAP fault (500) and a plain 503 midway, and delivers every record once", async function () {
    pvx.seed("Item types", items(1203));
    const c = client();
    await collect(c.receive("list-item-types", { maxPages: 1, firstPageOnly: true })); // signed in
    const before = pvx.calls.length;
    pvx.failNext(2, "fault", 1); // page 2 fails twice, then answers
    const pages = await collect(c.receive("list-item-types"));
    const codes = pages.flatMap((p) => p.records.map((r) => r.ItemCode));
    assert.equal(codes.length, 1203);
    assert.equal(new Set(codes).size, 1203);
    assert.deepEqual(
      pvx.calls.slice(before).map((x) => x[2]),
      [1, 2, 2, 2, 3],
      "page 2 asked three times, no page twice delivered",
    );
    pvx.failNext(1, "http", 2);
    const again = await collect(c.receive("list-item-types"));
    assert.equal(again.flatMap((p) => p.records).length, 1203);
  });

  it("reports a SaveData that failed with a 5xx as unknown, never retried (it may have been applied)", async function () {
    const c = client();
    await c.send("save-item-types", items(1));
    pvx.failNext(1, "fault");
    const result = await c.send("save-item-types", items(2, 10));
    assert.equal(result.failed.length, 1);
    assert.equal(result.failed[0].outcome, "unknown");
    assert.equal(result.failed[0].records.length, 2);
    assert.match(result.failed[0].error, /answered 500/);
    assert.equal(pvx.calls.filter((x) => x[0] === "SaveData").length, 2);
  });

  it("signs in again once when Peoplevox says the session expired (in a 200), and goes on", async function () {
    pvx.seed("Item types", items(2));
    const c = client();
    await collect(c.receive("list-item-types"));
    pvx.expireSessions();
    const pages = await collect(c.receive("list-item-types"));
    assert.equal(pages[0].records.length, 2);
    assert.equal(pvx.calls.filter((x) => x[0] === "Authenticate").length, 2);
    // A send after expiry too: the records are saved once.
    pvx.expireSessions();
    const sent = await c.send("save-item-types", items(1, 50));
    assert.equal(sent.failed.length, 0);
    assert.equal(pvx.rows("Item types").length, 3);
  });

  it("fails with Peoplevox's reason on a wrong password, and never shows the password", async function () {
    await assert.rejects(
      collect(client({ password: "wrong-password" }).receive("list-item-types")),
      (err) =>
        /could not get a token: .*answered 200 with an error: System : Security - Invalid username or password/.test(
          err.message,
        ) &&
        !err.message.includes("wrong-password") &&
        !err.message.includes(Buffer.from("wrong-password").toString("base64")),
    );
  });

  it("refuses a call Peoplevox answers with ResponseId -1, with its Detail", async function () {
    await assert.rejects(
      collect(
        client().receive("get-data", { params: { templateName: "Item types", searchClause: "nonsense" } }),
      ),
      /answered 200 with an error: Invalid search clause: nonsense/,
    );
  });

  it("subscribes an event to a callback URL, which the fake calls, and unsubscribes it", async function () {
    const { startServer } = require("../support/http-server");
    const hook = await startServer(() => ({ status: 200, body: {} }));
    try {
      const c = client();
      const sub = await c.send("subscribe-post-event", [
        {
          eventType: "GoodsReceived",
          postUrl: `${hook.base}/goods-in`,
          postParams: "sku={ItemCode}&qty={Quantity}",
        },
      ]);
      assert.equal(sub.failed.length, 0);
      const id = sub.ok[0].response.Envelope.Body.SubscribePostEventResponse.SubscribePostEventResult.Detail;
      assert.deepEqual(await pvx.emit("GoodsReceived", { ItemCode: "SKU 1&2", Quantity: 5 }), [200]);
      assert.equal(hook.log[0].method, "POST");
      assert.equal(hook.log[0].body, "sku=SKU%201%262&qty=5");
      const gone = await c.send("unsubscribe-event", [{ subscriptionId: id }]);
      assert.equal(gone.failed.length, 0);
      assert.deepEqual(await pvx.emit("GoodsReceived", { ItemCode: "X" }), []);
      const twice = await c.send("unsubscribe-event", [{ subscriptionId: id }]);
      assert.match(twice.failed[0].error, /Subscription \d+ does not exist/);
    } finally {
      await hook.close();
    }
  });

  it("checks the new definition settings", function () {
    const bad = JSON.parse(JSON.stringify(peoplevox));
    bad.answerError.sessionExpired = "(";
    bad.auth[0].tokenPattern = "[";
    assert.throws(
      () => validateDefinition(bad),
      /answerError.sessionExpired: not a regular expression.*auth\[0\].tokenPattern/,
    );
  });
});

describe("engine settings the Peoplevox connector brought (generic)", function () {
  const { startServer } = require("../support/http-server");
  const { csvRecords, recordsCsv } = lib("csv");

  it("pages by a page number in a JSON body, stops at totalPath, and resumes at a page", async function () {
    const rows = Array.from({ length: 7 }, (_, i) => ({ n: i + 1 }));
    const api = await startServer((req) => {
      const b = JSON.parse(req.body);
      return { body: { total: rows.length, items: rows.slice((b.page - 1) * b.size, b.page * b.size) } };
    });
    try {
      const def = validateDefinition({
        id: "paged-body",
        name: "Paged body",
        version: "1.0.0",
        baseUrl: api.base,
        auth: [{ type: "none" }],
        endpoints: [
          {
            id: "search",
            name: "Search",
            direction: "receive",
            method: "POST",
            path: "/search",
            body: { q: "all" },
            records: "items",
            pagination: {
              type: "page",
              in: "body",
              pageParam: "page",
              sizeParam: "size",
              pageSize: 3,
              totalPath: "total",
            },
          },
        ],
      });
      const c = new ConnectorClient(def, { id: `paged-${++count}`, vars: {} });
      const pages = await collect(c.receive("search"));
      assert.deepEqual(
        pages.map((p) => p.records.map((r) => r.n)),
        [[1, 2, 3], [4, 5, 6], [7]],
      );
      assert.deepEqual(
        api.log.map((e) => JSON.parse(e.body)),
        [
          { q: "all", page: 1, size: 3 },
          { q: "all", page: 2, size: 3 },
          { q: "all", page: 3, size: 3 },
        ],
      );
      assert.deepEqual(pages[0].resume, { pages: 1, value: 2 });
      const resumed = await collect(c.receive("search", { resume: pages[0].resume }));
      assert.deepEqual(
        resumed.map((p) => [p.number, p.records.length]),
        [
          [2, 3],
          [3, 1],
        ],
      );
    } finally {
      await api.close();
    }
  });

  it("reads CSV with a header row as records and writes records as CSV, quoting what needs it", function () {
    assert.deepEqual(csvRecords('a,b\r\n1,"x, ""y"""\r\n2\r\n'), [
      { a: "1", b: 'x, "y"' },
      { a: "2", b: "" },
    ]);
    assert.deepEqual(csvRecords(""), []);
    assert.equal(recordsCsv([{ a: 1, b: "x,y" }, { c: { d: 1 } }]), 'a,b,c\r\n1,"x,y",\r\n,,"{""d"":1}"\r\n');
    assert.equal(recordsCsv([{ a: 1, b: 2 }], ["b", "a"]), "b,a\r\n2,1\r\n");
  });
});
