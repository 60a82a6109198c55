// The script and assert shapes through Node-RED (node-red-node-test-helper): good and bad
// input, bad configuration refused at deploy, saved scripts by version, the time limit.
const assert = require("node:assert/strict");
const { helper, load, nextMessage, collect } = require("../support/node-helper");
const { waitUntil } = require("../support/wait");

const tab = { id: "tab1", type: "tab" };
const helpers = (...ids) => ids.map((id) => ({ id, type: "helper", z: "tab1" }));
const catcher = [
  { id: "c1", type: "catch", z: "tab1", scope: null, uncaught: false, wires: [["caught"]] },
  ...helpers("caught"),
];
const pw = () => ({
  run: { id: "R1", flow: "tab1", trigger: "t1", startedAt: "2026-11-27T10:00:00.000Z" },
  meta: { shop: "acme" },
});
const script = (code, extra = {}) => ({
  id: "s",
  type: "pw-script",
  z: "tab1",
  name: "enrich",
  code,
  wires: [["out"]],
  ...extra,
});
const saved = (versions) => ({ id: "lib", type: "pw-saved-script", name: "Tag orders", versions });
const plain = (v) => JSON.parse(JSON.stringify(v));

describe("pw-script (node)", function () {
  afterEach(() => helper.unload());

  it("sends what the script returns, with msg.pw, meta changes and flow writes", async function () {
    await load([
      { ...tab, env: [{ name: "CURRENCY", value: "GBP", type: "str" }] },
      script(
        `const since = flow.get("since");
         meta.count = payload.length;
         flow.set("since", "2026-02-01");
         await null;
         return payload.map(o => ({ ...o, currency: env.get("CURRENCY"), since, run: run.id }));`,
      ),
      ...helpers("out"),
    ]);
    helper.getNode("s").context().flow.set("since", "2026-01-01");
    const got = nextMessage("out");
    const incoming = { payload: [{ id: 1 }, { id: 2 }], pw: pw(), topic: "orders" };
    helper.getNode("s").receive(incoming);
    const msg = await got;
    assert.deepEqual(plain(msg.payload), [
      { id: 1, currency: "GBP", since: "2026-01-01", run: "R1" },
      { id: 2, currency: "GBP", since: "2026-01-01", run: "R1" },
    ]);
    assert.deepEqual(msg.pw.meta, { shop: "acme", count: "2" });
    assert.equal(msg.pw.run.id, "R1");
    assert.equal(msg.topic, "orders");
    assert.deepEqual(incoming.pw.meta, { shop: "acme" }, "the incoming meta is untouched");
    assert.equal(helper.getNode("s").context().flow.get("since"), "2026-02-01");
  });

  it("sends each element of a returned array as its own message when told to, and nothing for null", async function () {
    await load([
      tab,
      script("return payload === 'none' ? null : payload.map(n => ({ n }));", { each: true }),
      ...helpers("out"),
    ]);
    const out = collect("out");
    helper.getNode("s").receive({ payload: [1, 2, 3], pw: pw() });
    await waitUntil(() => out.length === 3, "three messages");
    assert.deepEqual(
      out.map((m) => m.payload.n),
      [1, 2, 3],
    );
    assert.notEqual(out[0], out[1]);
    helper.getNode("s").receive({ payload: "none", pw: pw() });
    await new Promise((r) => setTimeout(r, 50));
    assert.equal(out.length, 3);
  });

  it("fails the message with the line and column of the error, and leaves flow variables alone", async function () {
    await load([
      tab,
      script("flow.set('since', 'changed');\nconst first = payload[0];\nreturn first.customer.email;"),
      ...helpers("out"),
      ...catcher,
    ]);
    const caught = nextMessage("caught");
    helper.getNode("s").receive({ payload: [{ id: 1 }], pw: pw() });
    const msg = await caught;
    assert.match(
      msg.error.message,
      /script "enrich": line 3, column 23: TypeError: Cannot read properties of undefined \(reading 'email'\)$/,
    );
    assert.equal(helper.getNode("s").context().flow.get("since"), undefined);
  });

  it("fails a script that returns nothing, saying how to fix it", async function () {
    await load([tab, script("payload.done = true;"), ...helpers("out"), ...catcher]);
    const caught = nextMessage("caught");
    helper.getNode("s").receive({ payload: {}, pw: pw() });
    assert.match((await caught).error.message, /returned nothing: end it with return payload;/);
  });

  it("stops a script over its time limit: synchronous, microtask and async", async function () {
    await load([
      tab,
      script(
        "if (payload === 'sync') while (true) {}\n" +
          "if (payload === 'micro') { const spin = () => Promise.resolve().then(spin); spin(); }\n" +
          "await new Promise(r => setTimeout(r, 60000));",
        { timeout: "0.2" },
      ),
      ...helpers("out"),
      ...catcher,
    ]);
    for (const kind of ["sync", "micro", "async"]) {
      const caught = nextMessage("caught");
      const started = Date.now();
      helper.getNode("s").receive({ payload: kind, pw: pw() });
      const msg = await caught;
      assert.match(msg.error.message, /did not finish within its limit of 0.2 s/, kind);
      assert.ok(Date.now() - started < 2000, `${kind} took ${Date.now() - started} ms`);
    }
  });

  it("refuses at deploy a script that does not parse, naming the line and column", async function () {
    await load([tab, script("const a = 1;\nreturn a +* 2;"), ...helpers("out"), ...catcher]);
    const node = helper.getNode("s");
    const caught = nextMessage("caught");
    node.receive({ payload: 1, pw: pw() });
    assert.match(
      (await caught).error.message,
      /script "enrich" is not configured correctly: the script does not parse: line 2, column 11: Unexpected token '\*'\. Open the shape and fix it\./,
    );
  });

  it("refuses a time limit over the cap", async function () {
    await load([tab, script("return 1;", { timeout: 700 }), ...helpers("out"), ...catcher]);
    const caught = nextMessage("caught");
    helper.getNode("s").receive({ payload: 1 });
    assert.match(
      (await caught).error.message,
      /over the cap of 600 s: lower it, or raise patchworks.script.maxTimeoutSeconds/,
    );
  });

  it("runs a saved script's latest version or a pinned one, and refuses a version that is not there", async function () {
    const versions = [
      { version: 1, code: "return 'v1:' + payload;", savedAt: "2026-01-01T00:00:00Z" },
      { version: 2, code: "return 'v2:' + payload;", savedAt: "2026-01-02T00:00:00Z" },
    ];
    await load([
      tab,
      saved(versions),
      script("", { id: "s-latest", source: "saved", script: "lib", version: "latest", wires: [["out"]] }),
      script("", { id: "s-pinned", source: "saved", script: "lib", version: "1", wires: [["out"]] }),
      script("", {
        id: "s-gone",
        name: "gone",
        source: "saved",
        script: "lib",
        version: "7",
        wires: [["out"]],
      }),
      ...helpers("out"),
      ...catcher,
    ]);
    const out = collect("out");
    helper.getNode("s-latest").receive({ payload: "a" });
    helper.getNode("s-pinned").receive({ payload: "b" });
    await waitUntil(() => out.length === 2, "two messages");
    assert.deepEqual(out.map((m) => m.payload).sort(), ["v1:b", "v2:a"]);
    const caught = nextMessage("caught");
    helper.getNode("s-gone").receive({ payload: "c" });
    assert.match(
      (await caught).error.message,
      /saved script "Tag orders": it has no version 7 \(saved: 1, 2\); choose one of those or "latest"/,
    );
  });

  it("names the saved script's version when it does not parse", async function () {
    await load([
      tab,
      saved([{ version: 3, code: "return (;" }]),
      script("", { source: "saved", script: "lib" }),
      ...helpers("out"),
      ...catcher,
    ]);
    const caught = nextMessage("caught");
    helper.getNode("s").receive({ payload: 1 });
    assert.match(
      (await caught).error.message,
      /the script does not parse: line 1, column 9: Unexpected token ';' \(saved script "Tag orders" version 3\)/,
    );
  });
});

describe("pw-assert (node)", function () {
  afterEach(() => helper.unload());
  const check = (expected, extra = {}) => ({
    id: "a",
    type: "pw-assert",
    z: "tab1",
    name: "orders match",
    expected: JSON.stringify(expected),
    wires: [["pass"], ["fail"]],
    ...extra,
  });

  it("sends a matching payload to output 1 with msg.assert", async function () {
    await load([tab, check([{ sku: "A" }, { sku: "B" }], { ignoreOrder: true }), ...helpers("pass", "fail")]);
    const got = nextMessage("pass");
    helper.getNode("a").receive({ payload: [{ sku: "B" }, { sku: "A" }], pw: pw(), topic: "t" });
    const msg = await got;
    assert.equal(msg.assert.pass, true);
    assert.equal(msg.topic, "t");
    assert.equal(msg.pw.run.id, "R1");
  });

  it("sends a payload that differs to output 2 with the differences by path (the help's example)", async function () {
    await load([
      tab,
      check([
        { sku: "A", qty: 1 },
        { sku: "B", qty: 2 },
      ]),
      ...helpers("pass", "fail"),
    ]);
    const got = nextMessage("fail");
    helper.getNode("a").receive({
      payload: [
        { sku: "A", qty: 1 },
        { sku: "B", qty: "2" },
        { sku: "C", qty: 1 },
      ],
    });
    const msg = await got;
    assert.equal(msg.assert.pass, false);
    assert.equal(
      msg.assert.text,
      '2 differences from the expected payload:\n[1].qty: expected number 2, got string "2"\n[2]: not expected (got {"sku":"C","qty":1})',
    );
    assert.deepEqual(msg.assert.differences[0], {
      path: "[1].qty",
      problem: "different type",
      expected: 2,
      actual: "2",
    });
  });

  it("checks only the expected fields in 'contains' mode, with ignored paths", async function () {
    await load([
      tab,
      check(
        { id: 1, customer: { email: "a@example.com" }, updated_at: "x" },
        { mode: "subset", ignorePaths: ["updated_at"] },
      ),
      ...helpers("pass", "fail"),
    ]);
    const got = nextMessage("pass");
    helper
      .getNode("a")
      .receive({ payload: { id: 1, total: 5, customer: { email: "a@example.com", name: "A" } } });
    assert.equal((await got).assert.pass, true);
  });

  it("fails the message with the differences when output 2 is not wired", async function () {
    await load([tab, check({ id: 1 }, { wires: [["pass"], []] }), ...helpers("pass"), ...catcher]);
    const caught = nextMessage("caught");
    helper.getNode("a").receive({ payload: { id: 2 } });
    const msg = await caught;
    assert.match(
      msg.error.message,
      /assert "orders match": 1 difference from the expected payload:\nid: expected 1, got 2$/,
    );
    assert.equal(msg.assert.pass, false);
  });

  it("refuses an empty expected payload and a bad ignored path at deploy", async function () {
    await load([
      tab,
      check(null, { id: "empty", expected: "" }),
      check({}, { id: "badpath", ignorePaths: ["a..b"] }),
      ...helpers("pass", "fail"),
      ...catcher,
    ]);
    const caught = collect("caught");
    helper.getNode("empty").receive({ payload: {} });
    helper.getNode("badpath").receive({ payload: {} });
    await waitUntil(() => caught.length === 2, "two errors");
    assert.match(caught[0].error.message, /the expected payload is empty: paste the payload you expect/);
    assert.match(caught[1].error.message, /ignored path 1: path "a..b" has an empty key/);
  });
});
