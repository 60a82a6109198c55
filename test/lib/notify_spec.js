// The notify shape's engine: messages from templates, what each channel sends (the webhook's
// JSON built as data), and email through a real SMTP server.
const assert = require("node:assert/strict");
const { lib } = require("../support/dist");
const { startSmtp } = require("../support/smtp");
const { startServer } = require("../support/http-server");
const { compileNotify, webhookBody, postWebhook, checkWebhookUrl } = lib("notify");
const { compileMailer, parseAddresses } = lib("mailer");

describe("notify: the message", function () {
  const view = {
    payload: { order: 1001, note: "x".repeat(300), customer: { name: 'Tom & "Jerry"' } },
    meta: { shop: "acme" },
    run: { id: "R1" },
    flow: { region: "EU" },
  };

  it("renders payload, meta, run and flow values as plain text, each cut at 100 characters by default", function () {
    const n = compileNotify({
      template:
        "Order {{payload.order}} for {{payload.customer.name}} ({{meta.shop}}, {{flow.region}}, run {{run.id}}): {{payload.note}}",
      level: "warning",
    }).render(view);
    assert.equal(n.level, "warning");
    assert.match(n.text, /^Order 1001 for Tom & "Jerry" \(acme, EU, run R1\): x{99}…$/);
    assert.equal(
      n.subject,
      `[warning] ${n.text.slice(0, 89)}…`,
      "the default subject: level and first line, 100 characters",
    );
  });

  it("keeps values whole with 0 or triple braces, and renders the subject template on one line", function () {
    const whole = compileNotify({ template: "{{payload.note}}", valueChars: 0 }).render(view);
    assert.equal(whole.text.length, 300);
    const triple = compileNotify({
      template: "{{{payload.note}}}",
      subject: "Shop {{meta.shop}}\nrun {{run.id}}",
    }).render(view);
    assert.equal(triple.text.length, 300);
    assert.equal(triple.subject, "Shop acme run R1");
  });

  it("refuses an empty message, a bad template, an unknown level and a bad value length", function () {
    assert.throws(() => compileNotify({ template: "  " }), /the message is empty/);
    assert.throws(() => compileNotify({ template: "{{#payload}}open" }), /template .* is not valid/);
    assert.throws(
      () => compileNotify({ template: "x", level: "panic" }),
      /level must be one of success, info, warning, error/,
    );
    assert.throws(() => compileNotify({ template: "x", valueChars: "-1" }), /whole number of characters/);
  });
});

describe("notify: webhook bodies", function () {
  const n = { level: "error", subject: 'Order "1001" failed', text: "line 1\n{not: json}" };
  const ctx = { shape: "alerts", run: { id: "R1", flow: "f1", trigger: "t1" } };

  it("builds Slack, Teams and plain JSON bodies as data, whatever the text holds", function () {
    const slack = webhookBody("slack", n, ctx);
    assert.deepEqual(slack, {
      text: 'Order "1001" failed',
      attachments: [{ color: "#D93025", text: "line 1\n{not: json}", footer: "alerts · run R1" }],
    });
    const teams = webhookBody("teams", n, ctx);
    assert.equal(teams.type, "message");
    const card = teams.attachments[0];
    assert.equal(card.contentType, "application/vnd.microsoft.card.adaptive");
    assert.equal(card.content.type, "AdaptiveCard");
    assert.deepEqual(
      card.content.body.slice(0, 2).map((b) => [b.text, b.color]),
      [
        ['Order "1001" failed', "Attention"],
        ["line 1\n{not: json}", undefined],
      ],
    );
    assert.deepEqual(webhookBody("json", n, ctx), { ...n, shape: "alerts", run: ctx.run });
  });

  it("posts the body, and fails with the status and an excerpt, showing only the URL's origin", async function () {
    const srv = await startServer((req) =>
      req.path === "/ok"
        ? { status: 200, body: "ok", type: "text/plain" }
        : { status: 403, body: "invalid_token", type: "text/plain" },
    );
    try {
      assert.equal(await postWebhook(`${srv.base}/ok`, { text: "hi" }), 200);
      assert.deepEqual(JSON.parse(srv.log[0].body), { text: "hi" });
      assert.equal(srv.log[0].headers["content-type"], "application/json");
      await assert.rejects(postWebhook(`${srv.base}/T000/B000/secret`, {}), (err) => {
        assert.match(err.message, /^webhook POST http:\/\/127\.0\.0\.1:\d+\/… answered 403: invalid_token$/);
        assert.doesNotMatch(err.message, /secret/);
        return true;
      });
    } finally {
      await srv.close();
    }
    assert.throws(() => checkWebhookUrl(""), /has no URL/);
    assert.throws(() => checkWebhookUrl("hooks.slack.com/x"), /not a URL/);
    assert.throws(() => checkWebhookUrl("ftp://x.io/y"), /must start with https:\/\//);
  });
});

describe("notify: email", function () {
  it("reads recipient addresses and refuses what is not one", function () {
    assert.deepEqual(parseAddresses("a@x.io, b@y.io;\nc@z.io", "ops"), ["a@x.io", "b@y.io", "c@z.io"]);
    assert.throws(
      () => parseAddresses("a@x.io, bob", 'recipient group "ops"'),
      /recipient group "ops": "bob" is not an email address/,
    );
  });

  it("refuses settings without a host, sender or group addresses, and an unknown group", function () {
    assert.throws(() => compileMailer({ from: "a@x.io" }), /host name is missing/);
    assert.throws(() => compileMailer({ host: "h", from: "" }), /sender .* is missing/);
    assert.throws(() => compileMailer({ host: "h", from: "a@x.io", port: "99999" }), /port must be a number/);
    assert.throws(
      () => compileMailer({ host: "h", from: "a@x.io", groups: [{ name: "ops", to: "" }] }),
      /"ops" has no addresses/,
    );
    const mailer = compileMailer({
      host: "h",
      from: "Alerts <a@x.io>",
      groups: [{ name: "ops", to: "o@x.io" }],
    });
    assert.throws(
      () => mailer.recipients(["finance"]),
      /recipient group "finance" is not in the SMTP server's settings \(it has "ops"\)/,
    );
    mailer.close();
  });

  it("delivers to the groups' addresses, once each, through a real SMTP server with a login", async function () {
    const smtp = await startSmtp({ user: "bot", password: "s3cret" });
    const mailer = compileMailer(
      {
        host: "127.0.0.1",
        port: smtp.port,
        security: "none",
        from: "Alerts <alerts@example.com>",
        groups: [
          { name: "ops", to: "ops1@example.com, ops2@example.com" },
          { name: "finance", to: "ops1@example.com\nfin@example.com" },
        ],
      },
      { user: "bot", password: "s3cret" },
    );
    try {
      const to = mailer.recipients(["ops", "finance"]);
      assert.deepEqual(to, ["ops1@example.com", "ops2@example.com", "fin@example.com"]);
      const accepted = await mailer.send({
        to,
        subject: "[error] Order 1001 failed",
        text: "It failed.\nRetry it.",
        urgent: true,
      });
      assert.deepEqual(accepted.sort(), [...to].sort());
      assert.deepEqual(smtp.logins, [{ username: "bot", password: "s3cret" }]);
      const mail = smtp.delivered[0];
      assert.equal(mail.from, "alerts@example.com");
      assert.deepEqual(mail.to.sort(), [...to].sort());
      assert.equal(mail.header("Subject"), "[error] Order 1001 failed");
      assert.equal(mail.header("X-Priority"), "1");
      assert.match(mail.body, /It failed\.\r\nRetry it\./);
    } finally {
      mailer.close();
      await smtp.close();
    }
  });

  it("fails with the server's answer when it refuses the login or a recipient", async function () {
    const smtp = await startSmtp({ user: "bot", password: "right", refuse: ["gone@example.com"] });
    const settings = { host: "127.0.0.1", port: smtp.port, security: "none", from: "a@example.com" };
    const wrong = compileMailer(settings, { user: "bot", password: "wrong" });
    const good = compileMailer(settings, { user: "bot", password: "right" });
    try {
      await assert.rejects(wrong.send({ to: ["x@example.com"], subject: "s", text: "t" }), (err) => {
        assert.match(
          err.message,
          /^email through 127\.0\.0\.1:\d+ failed: 535 Authentication failed \(EAUTH\)$/,
        );
        assert.doesNotMatch(err.message, /wrong/, "the password is never in the error");
        return true;
      });
      await assert.rejects(
        good.send({ to: ["x@example.com", "gone@example.com"], subject: "s", text: "t" }),
        /the server refused gone@example\.com \(sent to 1 of 2\)/,
      );
      await assert.rejects(
        good.send({ to: ["gone@example.com"], subject: "s", text: "t" }),
        /550 gone@example\.com: no such mailbox/,
      );
    } finally {
      wrong.close();
      good.close();
      await smtp.close();
    }
  });
});

describe("notifications in the run log", function () {
  const { forRunLog } = lib("notify");
  const { holdSecrets, releaseSecrets } = lib("redact");

  it("masks a secret value an instance holds wherever the rendered notification carries it", function () {
    holdSecrets("inst-notify", ["pat-na1-0123456789"]);
    try {
      const record = forRunLog(
        {
          level: "warning",
          subject: "token pat-na1-0123456789",
          text: "API said: bad token pat-na1-0123456789",
        },
        { id: "n1" },
        { webhook: { ok: false, detail: "answered 401: pat-na1-0123456789 is not valid" } },
        0,
      );
      assert.ok(!JSON.stringify(record).includes("pat-na1-0123456789"), JSON.stringify(record));
      assert.equal(record.text, "API said: bad token ***");
    } finally {
      releaseSecrets("inst-notify");
    }
  });
});
