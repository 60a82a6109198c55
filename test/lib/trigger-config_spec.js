const assert = require("node:assert/strict");
const { lib } = require("../support/dist");
const { compileTrigger } = lib("trigger-config");

describe("trigger settings", function () {
  it("compiles schedules and a webhook with defaults", function () {
    const t = compileTrigger({
      schedules: [{ type: "minutes", every: 5, tz: "Europe/Paris" }],
      webhook: true,
      path: "orders/created/",
    });
    assert.equal(t.schedules[0].cron, "*/5 * * * *");
    assert.equal(t.schedules[0].tz, "Europe/Paris");
    assert.equal(t.webhook.path, "/orders/created");
    assert.deepEqual([...t.webhook.methods], ["GET", "POST"]);
    assert.equal(t.webhook.limitBytes, 10 * 1024 * 1024);
    assert.equal(t.webhook.reply.status, 200);
    assert.equal(t.webhook.reply.contentType, "application/json");
    assert.equal(t.webhook.reply.body({}), '{"message":"Flow initialised."}');
    assert.equal(t.webhook.reply.mode, "immediate");
    assert.equal(t.webhook.reply.timeoutMs, 30000);
  });

  it("names the schedule or setting that is wrong", function () {
    assert.throws(
      () =>
        compileTrigger({
          schedules: [
            { type: "minutes", every: 5 },
            { type: "cron", cron: "bad" },
          ],
        }),
      /schedule 2: cron "bad" has 1 fields/,
    );
    assert.throws(
      () => compileTrigger({ schedules: [{ type: "daily", time: "09:00", tz: "Nowhere/Land" }] }),
      /schedule 1: unknown time zone/,
    );
    assert.throws(() => compileTrigger({ webhook: true, path: "" }), /webhook path is empty/);
    assert.throws(() => compileTrigger({ webhook: true, path: "/a?b" }), /may not contain/);
    assert.throws(
      () => compileTrigger({ webhook: true, path: "/a", methods: "PUT" }),
      /"PUT" is not supported/,
    );
    assert.throws(
      () => compileTrigger({ webhook: true, path: "/a", auth: "shopify" }),
      /Shopify signature checking needs a secret/,
    );
    assert.throws(
      () => compileTrigger({ webhook: true, path: "/a", auth: "tiktok" }, "s"),
      /needs the app key/,
    );
    assert.throws(
      () => compileTrigger({ webhook: true, path: "/a", auth: "hmac" }, "s"),
      /name of the header/,
    );
    assert.throws(
      () => compileTrigger({ webhook: true, path: "/a", replyBody: "{nope" }),
      /reply body is not valid JSON/,
    );
    assert.throws(() => compileTrigger({ webhook: true, path: "/a", replyStatus: 42 }), /not an HTTP status/);
    assert.throws(
      () => compileTrigger({ webhook: true, path: "/a", bodyLimit: "huge" }),
      /size "huge" is not valid/,
    );
  });

  it("builds each authentication from its settings and the secret", function () {
    const token = compileTrigger({ webhook: true, path: "/a", auth: "token-query" }, "s3").webhook.auth;
    assert.deepEqual(token, { type: "token", in: "query", name: "token", token: "s3" });
    const hub = compileTrigger({ webhook: true, path: "/a", auth: "hubspot", maxAgeSec: "120" }, "s3").webhook
      .auth;
    assert.equal(hub.maxAgeMs, 120000);
  });
});
