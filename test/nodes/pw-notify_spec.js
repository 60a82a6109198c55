// Notify and track data through Node-RED (the test helper: no run tracking): channels
// delivered to a real SMTP server and a webhook, failures as errors of the shape, bad
// configuration refused, bad input failed with where and what.
const assert = require("node:assert/strict");
const { helper, load, nextMessage, nextError } = require("../support/node-helper");
const { startSmtp } = require("../support/smtp");
const { startServer } = require("../support/http-server");

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

describe("pw-notify (node)", function () {
  let smtp;
  let hook;
  before(async () => {
    smtp = await startSmtp({ user: "bot", password: "s3cret" });
    hook = await startServer((req) =>
      req.path === "/fail"
        ? { status: 500, body: "boom", type: "text/plain" }
        : { status: 200, body: "ok", type: "text/plain" },
    );
  });
  after(async () => {
    await smtp.close();
    await hook.close();
  });
  afterEach(() => {
    smtp.delivered.length = 0;
    hook.log.length = 0;
    return helper.unload();
  });

  const server = {
    id: "mail",
    type: "pw-smtp",
    host: "127.0.0.1",
    port: 0,
    security: "none",
    from: "Alerts <alerts@example.com>",
    groups: [
      { name: "ops", to: "ops@example.com" },
      { name: "finance", to: "fin@example.com, ops@example.com" },
    ],
  };
  const notify = (extra = {}) => ({
    id: "n",
    type: "pw-notify",
    z: "tab1",
    name: "Order alert",
    level: "warning",
    template: "Order {{payload.order}} of {{meta.shop}} needs a look",
    log: true,
    email: true,
    smtp: "mail",
    groups: ["ops", "finance"],
    webhook: true,
    webhookFormat: "slack",
    wires: [["out"]],
    ...extra,
  });
  const creds = (path = "/ok") => ({
    mail: { user: "bot", password: "s3cret" },
    n: { webhookUrl: `${hook.base}${path}` },
  });

  it("emails the ticked groups, posts to the webhook, and passes the message on unchanged", async function () {
    await load([tab, { ...server, port: smtp.port }, notify(), ...helpers("out")], creds());
    const out = nextMessage("out");
    const msg = { payload: { order: 1001 }, pw: pw(), topic: "orders" };
    helper.getNode("n").receive(msg);
    const got = await out;
    assert.deepEqual(got.payload, { order: 1001 });
    assert.equal(got.topic, "orders");
    const mail = smtp.delivered[0];
    assert.deepEqual(mail.to.sort(), ["fin@example.com", "ops@example.com"]);
    assert.equal(mail.header("Subject"), "[warning] Order 1001 of acme needs a look");
    assert.match(mail.body, /^Order 1001 of acme needs a look\r\n\r\n-- \r\nOrder alert · run R1/);
    const body = JSON.parse(hook.log[0].body);
    assert.equal(body.text, "[warning] Order 1001 of acme needs a look");
    assert.equal(body.attachments[0].color, "#F2A33A");
  });

  it("fails the message when a channel fails, naming it and the answer; the other channels still deliver", async function () {
    await load(
      [tab, { ...server, port: smtp.port }, notify(), ...helpers("out"), ...catcher],
      creds("/fail"),
    );
    const caught = nextMessage("caught");
    helper.getNode("n").receive({ payload: { order: 1002 }, pw: pw() });
    const msg = await caught;
    assert.match(
      msg.error.message,
      /^Error: notify "Order alert": the notification was not delivered: webhook POST http:\/\/127\.0\.0\.1:\d+\/… answered 500: boom$/,
    );
    assert.equal(smtp.delivered.length, 1, "the email went out");
  });

  it("fails the message when the SMTP server refuses the login", async function () {
    await load(
      [tab, { ...server, port: smtp.port }, notify({ webhook: false }), ...helpers("out"), ...catcher],
      {
        mail: { user: "bot", password: "wrong" },
      },
    );
    const caught = nextMessage("caught");
    helper.getNode("n").receive({ payload: {}, pw: pw() });
    assert.match(
      (await caught).error.message,
      /email through 127\.0\.0\.1:\d+ failed: 535 Authentication failed/,
    );
  });

  it("refuses bad configuration: no message, email without a group, a group the server lacks, a webhook without a URL", async function () {
    for (const [extra, reason] of [
      [{ template: "" }, /the message is empty/],
      [{ groups: [] }, /no recipient group is ticked/],
      [{ groups: ["sales"] }, /recipient group "sales" is not in the SMTP server's settings/],
      [{ email: false, smtp: "" }, /the webhook channel is on but has no URL/],
    ]) {
      await load([tab, { ...server, port: smtp.port }, notify(extra), ...helpers("out"), ...catcher], {
        mail: {},
      });
      const caught = nextMessage("caught");
      helper.getNode("n").receive({ payload: {}, pw: pw() });
      const msg = await caught;
      assert.match(msg.error.message, /^Error: notify "Order alert" is not configured correctly: /);
      assert.match(msg.error.message, reason);
      await helper.unload();
    }
  });

  it("refuses an SMTP server without a host or with a bad address in a group", async function () {
    await load(
      [
        tab,
        { ...server, port: smtp.port, groups: [{ name: "ops", to: "ops at example" }] },
        notify({ webhook: false }),
        ...helpers("out"),
        ...catcher,
      ],
      {},
    );
    const caught = nextMessage("caught");
    helper.getNode("n").receive({ payload: {}, pw: pw() });
    assert.match(
      (await caught).error.message,
      /cannot be used: recipient group "ops": "ops at example" is not an email address/,
    );
  });
});

describe("pw-track-data (node)", function () {
  afterEach(() => helper.unload());
  const track = (fields) => ({
    id: "t",
    type: "pw-track-data",
    z: "tab1",
    name: "ids",
    fields,
    wires: [["out"]],
  });

  it("passes the message on unchanged; with run tracking off (the test helper) it says so", async function () {
    await load([tab, track([{ name: "order", path: "order_number" }]), ...helpers("out")]);
    const status = [];
    helper.getNode("t").on("call:status", (call) => status.push(call.args[0].text));
    const out = nextMessage("out");
    const payload = [{ order_number: 1001 }];
    helper.getNode("t").receive({ payload, pw: pw() });
    assert.equal((await out).payload, payload);
    assert.equal(status.pop(), "pw-track-data.status.tracking-off");
  });

  it("fails bad input with where and what: no payload, text, a path that reaches an object", async function () {
    await load([tab, track([{ name: "customer", path: "customer" }]), ...helpers("out"), ...catcher]);
    for (const [payload, reason] of [
      [undefined, /msg\.payload is missing/],
      ['[{"customer":1}]', /msg\.payload is text .* parse it first/],
      [
        [{ customer: "a" }, { customer: { id: 2 } }],
        /record 1: "customer" \(customer\) is an object, not a value/,
      ],
    ]) {
      const caught = nextMessage("caught");
      helper.getNode("t").receive({ payload, pw: pw() });
      const msg = await caught;
      assert.match(msg.error.message, /^Error: track data "ids": /);
      assert.match(msg.error.message, reason);
    }
  });

  it("refuses rows without a name or with a bad path", async function () {
    await load([tab, track([{ name: "order", path: "a..b" }]), ...helpers("out"), ...catcher]);
    const error = nextError("t");
    const caught = nextMessage("caught");
    helper.getNode("t").receive({ payload: {}, pw: pw() });
    assert.match(await error, /"order": path "a\.\.b" has an empty key/);
    assert.match(
      (await caught).error.message,
      /is not configured correctly: "order": path "a\.\.b" has an empty key/,
    );
  });
});
