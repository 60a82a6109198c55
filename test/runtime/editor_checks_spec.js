// The admin routes through which the editor learns the runtime's rules instead of copying
// them: the condition operators, checks of dialog values by the engine's own compile steps,
// summaries of connectors built in the editor, and the instance's credential slots.
// With adminAuth on, so each route's permission is exercised.
const assert = require("node:assert/strict");
const bcrypt = require("bcryptjs");
const { startRuntime } = require("../support/runtime");
const { lib } = require("../support/dist");

const hash = bcrypt.hashSync("secret", 4);

describe("editor rules and checks (runtime)", function () {
  this.timeout(30000);
  let rt;
  const tokens = {};
  before(async () => {
    rt = await startRuntime({
      adminAuth: {
        type: "credentials",
        users: [
          { username: "admin", password: hash, permissions: "*" },
          { username: "viewer", password: hash, permissions: "read" },
          { username: "flows-only", password: hash, permissions: ["flows.read"] },
        ],
      },
    });
    const scopes = { admin: "*", viewer: "read", "flows-only": "flows.read" };
    for (const [username, scope] of Object.entries(scopes)) {
      const res = await rt.api("POST", "/auth/token", {
        client_id: "node-red-admin",
        grant_type: "password",
        scope,
        username,
        password: "secret",
      });
      assert.equal(res.status, 200, `a token for ${username}: ${res.text}`);
      tokens[username] = res.json.access_token;
    }
  });
  after(() => rt.stop());

  const as = (user, method, route, body) =>
    rt.api(method, route, body, user ? { Authorization: `Bearer ${tokens[user]}` } : {});
  const check = async (kind, value) => {
    const res = await as("admin", "POST", "/pw/editor/check", { checks: [{ kind, value }] });
    assert.equal(res.status, 200, res.text);
    return res.json.results[0].problems;
  };

  describe("GET pw/editor/rules", function () {
    it("describes the condition operators as the engine has them", async function () {
      const res = await as("viewer", "GET", "/pw/editor/rules");
      assert.equal(res.status, 200);
      const engine = lib("conditions");
      const { operators, groups, types, units, sources } = res.json.conditions;
      assert.deepEqual(
        operators.map((o) => o.op),
        engine.OPERATORS,
      );
      assert.deepEqual(
        operators.find((o) => o.op === "within_last"),
        { op: "within_last", group: "dates", takes: "amount", type: "date" },
      );
      assert.deepEqual(
        operators.find((o) => o.op === "not_in"),
        { op: "not_in", group: "compare", takes: "list" },
      );
      assert.deepEqual(groups, ["compare", "dates", "presence"]);
      assert.deepEqual(types, ["string", "number", "date", "boolean"]);
      assert.deepEqual(units, ["minutes", "hours", "days"]);
      assert.deepEqual(sources, ["literal", "template", "field"]);
      assert.deepEqual(res.json.conditions.negations, engine.NEGATIONS);
    });

    it("needs a user with the pw-editor.read permission", async function () {
      assert.equal((await as(null, "GET", "/pw/editor/rules")).status, 401);
      assert.equal((await as("flows-only", "GET", "/pw/editor/rules")).status, 401);
    });
  });

  describe("POST pw/editor/check", function () {
    it("reports each condition's problem by its rule's position, naming the field at fault", async function () {
      const problems = await check("conditions", {
        logic: "and",
        rules: [
          { field: "status", op: "equals", value: "paid" },
          { field: "a..b", op: "exists" },
          {
            logic: "or",
            rules: [
              { field: "qty", op: "between", type: "number", value: "ten", value2: "20" },
              { field: "sku", op: "regex", value: "([a-z" },
              { field: "tags", op: "in", valueType: "field", value: "other" },
            ],
          },
        ],
      });
      assert.deepEqual(
        problems.map((p) => [p.rule, p.part]),
        [
          [[1], "field"],
          [[2, 0], undefined],
          [[2, 1], undefined],
          [[2, 2], undefined],
        ],
      );
      assert.match(problems[0].message, /^rule 2: path "a\.\.b" has an empty key/);
      assert.match(problems[1].message, /^rule 3\.rule 1 \(qty between\): the value: "ten" is not a number/);
      assert.match(problems[2].message, /is not a valid regular expression/);
      assert.match(problems[3].message, /a list must be typed in or come from a template, not a field/);
      assert.deepEqual(await check("conditions", { logic: "and", rules: [] }), []);
      assert.match(
        (await check("conditions", { logic: "xor", rules: [] }))[0].message,
        /logic must be "and" or "or"/,
      );
      assert.match((await check("conditions", 42))[0].message, /must be a group/);
    });

    it("checks a condition's regex flags, time zone and delimited pattern as deploying does", async function () {
      const problems = await check("conditions", {
        logic: "and",
        rules: [
          { field: "sku", op: "regex", value: "^gift", flags: "im" },
          { field: "sku", op: "regex", value: "^gift", flags: "gi" },
          { field: "at", op: "before", value: "2026-11-27T10:00", zone: "Mars/Olympus" },
          { field: "at", op: "before", value: "2026-11-27T10:00", zone: "America/New_York" },
          { field: "sku", op: "regex", value: "/^gift-\\d{3}$/i" },
        ],
      });
      assert.deepEqual(
        problems.map((p) => [p.rule, p.part]),
        [
          [[1], "flags"],
          [[2], "zone"],
          [[4], undefined],
        ],
      );
      assert.match(
        problems[0].message,
        /^rule 2 \(sku regex\): the regular expression flag "g" is not supported/,
      );
      assert.match(problems[1].message, /^rule 3 \(at before\): "Mars\/Olympus" is not a time zone/);
      assert.match(problems[2].message, /write the pattern alone, \^gift-\\d\{3\}\$, and set the flags i/);
    });

    it("judges paths, templates, flow control, split, variables and trigger settings as deploying does", async function () {
      const cases = [
        ["path", "[*].email", true],
        ["path", "a..b", false],
        ["template", "order-{{payload.id}}", true],
        ["template", "order-{{payload.id", false],
        ["batch-level", "*", true],
        ["batch-level", "orders[*].lines", true],
        ["batch-level", "orders[", false],
        ["batch-size", "2", true],
        ["batch-size", "0", false],
        ["split-path", "[*].addresses", true],
        ["split-path", "", false],
        ["split-fields", [{ from: "id", to: "customer_id" }, { from: "" }], true],
        ["split-fields", [{ from: "[0]" }], false],
        ["variables", [{ target: "meta", key: "ref", valueType: "str", value: "x" }], true],
        ["variables", [{ target: "meta", key: "n", valueType: "num", value: "ten" }], false],
        ["variables", [], false],
        ["schedules", [{ type: "minutes", every: 5, tz: "UTC" }], true],
        ["schedules", [{ type: "minutes", every: 5, tz: "Nowhere/Special" }], false],
        ["webhook-path", "/orders/created", true],
        ["webhook-path", "/orders created", false],
        ["body-limit", "", true],
        ["body-limit", "512kb", true],
        ["body-limit", "lots", false],
      ];
      const res = await as("admin", "POST", "/pw/editor/check", {
        checks: cases.map(([kind, value]) => ({ kind, value })),
      });
      assert.equal(res.status, 200);
      const wrong = cases
        .map(([kind, value, ok], i) => ({ kind, value, ok, problems: res.json.results[i].problems }))
        .filter((c) => (c.problems.length === 0) !== c.ok);
      assert.deepEqual(wrong, []);
      assert.match(res.json.results[8].problems[0].message, /batch size must be a whole number of 1 or more/);
    });

    it("reports every schedule's problems at once, by row and input", async function () {
      const problems = await check("schedules", [
        { type: "cron", cron: "0 9 * * *", tz: "Europe/London" },
        { type: "cron", cron: "99 * * * *", tz: "Mars/Olympus" },
        { type: "minutes", every: 5, tz: "UTC" },
        { type: "cron", cron: "* * *", tz: "UTC" },
      ]);
      assert.deepEqual(
        problems.map((p) => [p.row, p.part]),
        [
          [1, "tz"],
          [1, "schedule"],
          [3, "schedule"],
        ],
      );
      assert.match(problems[0].message, /^schedule 2: unknown time zone "Mars\/Olympus"/);
      assert.match(problems[1].message, /^schedule 2: cron "99 \* \* \* \*" is not valid/);
      assert.match(problems[2].message, /^schedule 4: cron "\* \* \*" has 3 fields/);
    });

    it("reports every map rule's problem at once, naming the input at fault", async function () {
      const problems = await check("mapping", [
        { source: "id", target: "" },
        { source: "email", target: "email" },
        {
          source: "sku",
          target: "code",
          transforms: [{ type: "replace", find: "([a-z", regex: true, with: "" }],
        },
        { source: "a..b", target: "x" },
      ]);
      assert.deepEqual(
        problems.map((p) => [p.rule, p.part]),
        [
          [[0], "target"],
          [[2], "transforms"],
          [[3], "source"],
        ],
      );
      assert.match(problems[0].message, /^rule 1: needs a target field/);
      assert.match(problems[1].message, /^rule 3: transform 1 \(replace\): .*regular expression/);
    });

    it("judges JSON text and a trigger's reply body as deploying does", async function () {
      assert.deepEqual(await check("json", '{"a": 1}'), []);
      assert.match((await check("json", "{oops"))[0].message, /^not valid JSON: /);
      assert.deepEqual(await check("reply-body", { type: "json", body: '{"ok":true}' }), []);
      assert.deepEqual(await check("reply-body", { type: "text", body: "{oops" }), []);
      assert.deepEqual(await check("reply-body", { type: "json", body: '{"id":"{{run.id}}"}' }), []);
      assert.match(
        (await check("reply-body", { type: "json", body: "{oops" }))[0].message,
        /the reply body is not valid JSON .*: fix it or choose the text reply type/,
      );
    });

    it("answers a request it cannot use with 400 and a JSON message", async function () {
      for (const [body, pattern] of [
        [{}, /"checks"/],
        [{ checks: [] }, /at least one check/],
        [{ checks: "conditions" }, /"checks"/],
        [{ checks: [{ kind: "sql", value: "1" }] }, /check 1: unknown kind "sql" \(use one of conditions, /],
        [{ checks: [{ kind: "toString" }] }, /unknown kind "toString"/],
        [{ checks: Array.from({ length: 501 }, () => ({ kind: "path", value: "a" })) }, /at most 500 checks/],
      ]) {
        const res = await as("admin", "POST", "/pw/editor/check", body);
        assert.equal(res.status, 400, JSON.stringify(body).slice(0, 80));
        assert.equal(res.json.error, "bad_request");
        assert.match(res.json.message, pattern);
      }
      const malformed = await as("admin", "POST", "/pw/editor/check", "{not json");
      assert.equal(malformed.status, 400);
      assert.match(malformed.json.message, /not valid JSON/);
    });

    it("judges an instance by the connector client's rule: required variables and secrets set", async function () {
      const instance = {
        connector: "shopify",
        vars: { shop: "acme.myshopify.com" },
        secretSlots: { token: 0 },
      };
      assert.deepEqual(await check("instance", { ...instance, secrets: { token: false } }), [
        { message: 'the instance of Shopify needs "Admin API access token"' },
      ]);
      assert.deepEqual(await check("instance", { ...instance, secrets: { token: true } }), []);
      // Not said by the editor, and no instance of that id deployed with it: missing.
      assert.deepEqual(await check("instance", { ...instance, id: "nope", vars: {} }), [
        {
          message:
            'the instance of Shopify needs "Store address, e.g. acme.myshopify.com", "Admin API access token"',
        },
      ]);
    });

    it("needs a user with the pw-editor.read permission", async function () {
      const body = { checks: [{ kind: "path", value: "a" }] };
      assert.equal((await as(null, "POST", "/pw/editor/check", body)).status, 401);
      assert.equal((await as("flows-only", "POST", "/pw/editor/check", body)).status, 401);
      assert.equal((await as("viewer", "POST", "/pw/editor/check", body)).status, 200);
    });
  });

  describe("POST pw/connectors/summaries", function () {
    it("summarises a connector built in the editor exactly as the list of known connectors does", async function () {
      const known = (await as("viewer", "GET", "/pw/connectors")).json.connectors;
      const shopify = known.find((c) => c.id === "shopify");
      assert.ok(shopify, "the prebuilt Shopify connector is listed");
      const definition = lib("connectors/definition")
        .loadPrebuilt()
        .find((d) => d.id === "shopify");
      const res = await as("viewer", "POST", "/pw/connectors/summaries", {
        definitions: [JSON.stringify(definition), definition],
      });
      assert.equal(res.status, 200);
      assert.deepEqual(res.json.connectors, [shopify, shopify]);
    });

    it("lists a draft once it has an id and endpoints, valid or not", async function () {
      const res = await as("viewer", "POST", "/pw/connectors/summaries", {
        definitions: [
          {
            id: "wms",
            endpoints: [{ id: "list", name: "List", direction: "receive" }],
            auth: [{ type: "bearer" }],
          },
          { id: "wms" },
          "{not json",
          null,
        ],
      });
      assert.equal(res.status, 200);
      const [draft, ...rest] = res.json.connectors;
      assert.equal(draft.name, "wms", "a draft without a name is listed by its id");
      assert.deepEqual(draft.auth, [{ index: 0, type: "bearer", label: "bearer" }]);
      assert.deepEqual(draft.endpoints[0].parameters, []);
      assert.deepEqual(rest, [null, null, null]);
    });

    it("answers bad input with 400 and needs the pw-instance.read permission", async function () {
      const bad = await as("viewer", "POST", "/pw/connectors/summaries", { definitions: "shopify" });
      assert.equal(bad.status, 400);
      assert.match(bad.json.message, /"definitions"/);
      const many = await as("viewer", "POST", "/pw/connectors/summaries", {
        definitions: new Array(201).fill(null),
      });
      assert.equal(many.status, 400);
      assert.equal((await as(null, "POST", "/pw/connectors/summaries", { definitions: [] })).status, 401);
      assert.equal(
        (await as("flows-only", "POST", "/pw/connectors/summaries", { definitions: [] })).status,
        401,
      );
    });
  });

  it("tells the editor how many credential slots an instance has, as many as the runtime declares", async function () {
    const settings = await as("viewer", "GET", "/settings");
    const slots = settings.json.pwInstanceSecretSlots;
    assert.equal(typeof slots, "number");
    const declared = Object.keys(
      require("@node-red/runtime/lib/nodes/credentials").getDefinition("pw-instance"),
    );
    assert.deepEqual(
      declared,
      Array.from({ length: slots }, (_, i) => `secret_${i}`),
    );
  });
});
