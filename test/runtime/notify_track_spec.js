// Notify and track data in a real runtime with run tracking: notifications and tracked
// values in the run log, email delivered to a real SMTP server, the trigger's failure alert,
// a failed notification as the shape's error, the tracked-value search of the admin API, and
// tracked values found again after a restart.
const assert = require("node:assert/strict");
const fs = require("node:fs");
const os = require("node:os");
const path = require("node:path");
const { spawn } = require("node:child_process");
const { startRuntime } = require("../support/runtime");
const { startSmtp } = require("../support/smtp");
const { startServer } = require("../support/http-server");
const { waitUntil } = require("../support/wait");

function flows(smtpPort, hookBase) {
  return [
    { id: "f1", type: "tab", label: "Orders" },
    {
      id: "mail",
      type: "pw-smtp",
      name: "Office SMTP",
      host: "127.0.0.1",
      port: smtpPort,
      security: "none",
      from: "Patchworks <alerts@example.com>",
      groups: [
        { name: "ops", to: "ops@example.com" },
        { name: "finance", to: "fin@example.com" },
      ],
      // As the editor sends them: kept in the credentials file, never in flows.json.
      credentials: { user: "bot", password: "s3cret-smtp" },
    },
    {
      id: "trg",
      type: "pw-trigger",
      z: "f1",
      name: "Orders in",
      schedules: [],
      notifyOnFail: "alert",
      wires: [["trk"]],
    },
    {
      id: "trk",
      type: "pw-track-data",
      z: "f1",
      name: "ids",
      fields: [
        { name: "order", path: "order_number" },
        { name: "email", path: "customer.email" },
      ],
      wires: [["note"]],
    },
    {
      id: "note",
      type: "pw-notify",
      z: "f1",
      name: "New orders",
      level: "success",
      template: "{{payload.length}} order(s) for {{meta.shop}}, first {{payload.0.order_number}}",
      log: true,
      email: true,
      smtp: "mail",
      groups: ["ops"],
      webhook: true,
      webhookFormat: "json",
      credentials: { webhookUrl: `${hookBase}/ok/secret-token` },
      wires: [["check"]],
    },
    {
      id: "check",
      type: "function",
      z: "f1",
      name: "Check",
      func: "if (msg.payload.some((o) => o.fail)) { throw new Error('order ' + msg.payload[0].order_number + ' has no lines'); } return msg;",
      outputs: 1,
      wires: [[]],
    },
    {
      id: "alert",
      type: "pw-notify",
      z: "f1",
      name: "Failure alert",
      level: "info",
      template: "Run {{run.id}} {{run.status}}: {{run.reason}}\n{{run.errors}}",
      valueChars: 0,
      log: false,
      email: true,
      smtp: "mail",
      groups: ["ops", "finance"],
      webhook: false,
      wires: [[]],
    },
    // A second flow whose notification cannot be delivered (the webhook answers 500).
    { id: "trg2", type: "pw-trigger", z: "f1", name: "Broken hook", schedules: [], wires: [["bad"]] },
    {
      id: "bad",
      type: "pw-notify",
      z: "f1",
      name: "Broken",
      template: "hello",
      log: false,
      email: false,
      webhook: true,
      webhookFormat: "slack",
      credentials: { webhookUrl: `${hookBase}/fail` },
      wires: [[]],
    },
    {
      id: "inj",
      type: "inject",
      z: "f1",
      props: [{ p: "payload" }],
      payload: '{"order_number":1}',
      payloadType: "json",
      wires: [["trk2"]],
    },
    {
      id: "trk2",
      type: "pw-track-data",
      z: "f1",
      name: "no run",
      fields: [{ name: "order", path: "order_number" }],
      wires: [[]],
    },
  ];
}

describe("notify and track data (runtime)", function () {
  this.timeout(20000);
  let rt;
  let smtp;
  let hook;
  before(async () => {
    smtp = await startSmtp({ user: "bot", password: "s3cret-smtp" });
    hook = await startServer((req) =>
      req.path === "/fail"
        ? { status: 500, body: "no", type: "text/plain" }
        : { status: 200, body: "ok", type: "text/plain" },
    );
    rt = await startRuntime({ patchworks: { runs: { settleMs: 50 } } });
    await rt.deploy(flows(smtp.port, hook.base));
  });
  after(async () => {
    await rt.stop();
    await smtp.close();
    await hook.close();
  });
  beforeEach(() => {
    smtp.delivered.length = 0;
    hook.log.length = 0;
  });

  const start = async (trigger, payload) =>
    (await rt.api("POST", `/pw/trigger/${trigger}`, payload)).json.run;
  const ended = (id) =>
    waitUntil(
      async () => {
        const r = (await rt.api("GET", `/pw/runs/${id}`)).json?.run;
        return r && r.status !== "running" && r.status !== "queued" ? r : undefined;
      },
      `run ${id} to end`,
      8000,
      20,
    );

  it("emails the notification through the SMTP server, posts the webhook, and records both in the run's log", async function () {
    const run = await start("trg", [
      { order_number: 1001, customer: { email: "ada@example.com" } },
      { order_number: 1002, customer: { email: "bob@example.com" } },
    ]);
    const record = await ended(run.id);
    assert.equal(record.status, "succeeded", record.reason);
    const mail = smtp.delivered[0];
    assert.deepEqual(mail.to, ["ops@example.com"]);
    assert.equal(mail.from, "alerts@example.com");
    assert.equal(mail.header("Subject"), "[success] 2 order(s) for , first 1001");
    assert.match(mail.body, new RegExp(`run ${run.id}`));
    assert.deepEqual(smtp.logins, [{ username: "bot", password: "s3cret-smtp" }]);
    const posted = JSON.parse(hook.log[0].body);
    assert.equal(posted.level, "success");
    assert.equal(posted.run.id, run.id);
    const [n] = record.notifications;
    assert.equal(n.node, "note");
    assert.equal(n.level, "success");
    assert.equal(n.text, "2 order(s) for , first 1001");
    assert.deepEqual(Object.keys(n.channels).sort(), ["email", "log", "webhook"]);
    assert.ok(n.channels.email.ok && n.channels.webhook.ok, JSON.stringify(n.channels));
    assert.match(n.channels.email.detail, /sent to 1 recipient\(s\) through Office SMTP/);
    assert.ok(rt.logs.some((l) => /\[notify "New orders"\] success: 2 order\(s\)/.test(String(l.msg))));
    // Secrets: in the encrypted credentials file only.
    const flowFile = fs.readFileSync(path.join(rt.userDir, "flows.json"), "utf8");
    assert.doesNotMatch(flowFile, /s3cret-smtp|secret-token/);
    assert.doesNotMatch(fs.readFileSync(path.join(rt.userDir, "flows_cred.json"), "utf8"), /s3cret-smtp/);
    assert.ok(!rt.logs.some((l) => /s3cret-smtp|secret-token/.test(String(l.msg))), "no secret in the log");
  });

  it("finds the run by a tracked value through the admin API, and shows the values on the run", async function () {
    const run = await start("trg", [{ order_number: "A-7731", customer: { email: "Cy@Example.com" } }]);
    const record = await ended(run.id);
    assert.deepEqual(record.tracked, { order: ["A-7731"], email: ["Cy@Example.com"] });
    const found = (await rt.api("GET", "/pw/runs?tracked=a-7731")).json.runs;
    assert.deepEqual(
      found.map((r) => r.id),
      [run.id],
    );
    assert.deepEqual(
      (await rt.api("GET", "/pw/runs?tracked=cy@example.com&trackedName=email")).json.runs.map((r) => r.id),
      [run.id],
    );
    assert.deepEqual(
      (await rt.api("GET", "/pw/runs?tracked=cy@example.com&trackedName=order")).json.runs,
      [],
    );
    const bad = await rt.api("GET", "/pw/runs?trackedName=order");
    assert.equal(bad.status, 400);
    assert.match(bad.json.message, /"trackedName" needs "tracked"/);
  });

  it("fails a message of no run at the track-data shape, saying why", async function () {
    const before = rt.logs.length;
    assert.equal((await rt.api("POST", "/inject/inj")).status, 200);
    const line = await waitUntil(
      () => rt.logs.slice(before).find((l) => l.type === "pw-track-data" && l.level === 20),
      "the track-data error",
    );
    assert.match(String(line.msg), /no run.*the message belongs to no run, so its values have nowhere to go/);
  });

  it("alerts by email when a run fails, without wiring, and adds the alert to the failed run's log", async function () {
    const run = await start("trg", [
      { order_number: 1003, fail: true, customer: { email: "d@example.com" } },
    ]);
    const record = await ended(run.id);
    assert.equal(record.status, "failed");
    const alert = await waitUntil(
      () => smtp.delivered.find((m) => /^\[error\]/.test(m.header("Subject") ?? "")),
      "the alert email",
    );
    assert.deepEqual(alert.to.sort(), ["fin@example.com", "ops@example.com"]);
    assert.equal(
      alert.header("Subject"),
      `[error] Run ${run.id} failed: 1 error(s) not handled by a Catch node`,
    );
    assert.match(alert.body, /Check: order 1003 has no lines/);
    const withAlert = await waitUntil(async () => {
      const r = (await rt.api("GET", `/pw/runs/${run.id}`)).json.run;
      return r.notifications?.some((n) => n.alert) && r;
    }, "the alert in the run's log");
    const entry = withAlert.notifications.find((n) => n.alert);
    assert.equal(entry.node, "alert");
    assert.equal(entry.level, "error");
    assert.equal(withAlert.status, "failed", "the alert changes nothing else of the run");
  });

  it("makes an undelivered notification an error of the notify shape; the runtime and other flows go on", async function () {
    const run = await start("trg2", {});
    const record = await ended(run.id);
    assert.equal(record.status, "failed");
    assert.deepEqual(
      record.errors.map((e) => e.node),
      ["bad"],
    );
    assert.match(
      record.errors[0].message,
      /notify "Broken": the notification was not delivered: webhook POST http:\/\/127\.0\.0\.1:\d+\/… answered 500: no/,
    );
    assert.equal(record.notifications[0].channels.webhook.ok, false);
    const next = await start("trg", [{ order_number: 1004 }]);
    assert.equal((await ended(next.id)).status, "succeeded");
  });
});

describe("tracked values after a restart (a runtime in a child process)", function () {
  this.timeout(60000);
  const child = path.join(__dirname, "..", "support", "child-runtime.js");
  let userDir;
  let red;
  before(() => (userDir = fs.mkdtempSync(path.join(os.tmpdir(), "pw-track-restart-"))));
  after(() => fs.rmSync(userDir, { recursive: true, force: true }));

  async function startChild() {
    red = spawn(
      process.execPath,
      [child, userDir, JSON.stringify({ patchworks: { runs: { settleMs: 20 } } })],
      {
        stdio: ["ignore", "pipe", "pipe"],
      },
    );
    let out = "";
    red.stdout.on("data", (d) => (out += d));
    red.stderr.on("data", (d) => (out += d));
    red.exited = new Promise((resolve) => red.once("exit", resolve));
    red.url = await waitUntil(() => /listening (\S+)/.exec(out)?.[1], `the runtime to start (${out})`, 30000);
  }
  const get = async (route) => (await fetch(red.url + route)).json();

  it("finds runs by their tracked values after Node-RED stops and starts again", async function () {
    await startChild();
    const res = await fetch(`${red.url}/flows`, {
      method: "POST",
      headers: { "content-type": "application/json", "Node-RED-Deployment-Type": "full" },
      body: JSON.stringify([
        { id: "f1", type: "tab", label: "Orders" },
        { id: "trg", type: "pw-trigger", z: "f1", schedules: [], x: 100, y: 100, wires: [["trk"]] },
        {
          id: "trk",
          type: "pw-track-data",
          z: "f1",
          fields: [{ name: "order", path: "order_number" }],
          x: 300,
          y: 100,
          wires: [[]],
        },
      ]),
    });
    assert.equal(res.status, 204);
    const ids = [];
    for (const order of ["1001", "1002"]) {
      const started = await waitUntil(async () => {
        const r = await fetch(`${red.url}/pw/trigger/trg`, {
          method: "POST",
          headers: { "content-type": "application/json" },
          body: JSON.stringify([{ order_number: order }]),
        });
        return r.status === 200 && (await r.json()).run;
      }, "the trigger to start a run");
      ids.push(started.id);
    }
    await waitUntil(async () => (await get("/pw/runs?tracked=1002")).runs.length === 1, "the runs to end");
    red.kill("SIGTERM");
    await red.exited;

    await startChild();
    try {
      assert.deepEqual(
        (await get("/pw/runs?tracked=1001")).runs.map((r) => r.id),
        [ids[0]],
      );
      assert.deepEqual(
        (await get("/pw/runs?tracked=1002&trackedName=order")).runs.map((r) => r.id),
        [ids[1]],
      );
      assert.deepEqual((await get(`/pw/runs/${ids[0]}`)).run.tracked, { order: ["1001"] });
    } finally {
      red.kill("SIGTERM");
      await red.exited;
    }
  });
});
