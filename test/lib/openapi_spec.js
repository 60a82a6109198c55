// The OpenAPI importer on vendors' published specs (kept in test/fixtures/openapi, see its
// README for sources and licences): a draft that runs unedited once credentials are filled
// in, against servers on 127.0.0.1 that follow the spec.
const assert = require("node:assert/strict");
const fs = require("node:fs");
const path = require("node:path");
const { lib } = require("../support/dist");
const { startServer } = require("../support/http-server");
const { startStripe } = require("../fakes/stripe");
const { startGitHub } = require("../fakes/github");
const { fromOpenApi } = lib("connectors/openapi");
const { validateDefinition } = lib("connectors/definition");
const { ConnectorClient } = lib("connectors/client");

const fixture = (name) => fs.readFileSync(path.join(__dirname, "..", "fixtures", "openapi", name), "utf8");
const collect = async (gen) => {
  const pages = [];
  for await (const p of gen) pages.push(p);
  return pages;
};
let n = 0;
const instance = (vars, extra = {}) => ({ id: `openapi-${++n}`, vars, ...extra });

/** A minimal OpenAPI 3 document around one list operation. */
const doc = (op, extra = {}) => ({
  openapi: "3.0.3",
  info: { title: "Test API", version: "1.0.0" },
  servers: [{ url: "https://api.example.com/v1" }],
  paths: { "/orders": { get: { operationId: "listOrders", ...op } } },
  ...extra,
});
const listOf = (properties, headers) => ({
  200: {
    ...(headers ? { headers } : {}),
    content: { "application/json": { schema: { type: "object", properties } } },
  },
});

describe("OpenAPI import", function () {
  describe("Klaviyo's published spec (JSON:API, links.next, a required revision header)", function () {
    const KEY = "pk_test_0123456789abcdef";
    const profiles = Array.from({ length: 7 }, (_, i) => ({
      type: "profile",
      id: `01P${i}`,
      attributes: { email: `p${i}@example.com` },
    }));
    let api;
    const created = [];
    before(async () => {
      // Klaviyo's contract, as the spec says it: the key as "Klaviyo-API-Key <key>", a revision
      // header on every call, JSON:API documents, pages of page[size] (at most 100) linked by
      // links.next with page[cursor].
      api = await startServer((req) => {
        if (req.headers.authorization !== `Klaviyo-API-Key ${KEY}`)
          return { status: 401, body: { errors: [{ status: 401, code: "not_authenticated" }] } };
        if (!req.headers.revision)
          return { status: 400, body: { errors: [{ status: 400, detail: "revision header is required" }] } };
        if (req.method === "GET" && req.path === "/api/profiles") {
          const size = Number(req.query["page[size]"] ?? 20);
          if (!(size >= 1 && size <= 100))
            return { status: 400, body: { errors: [{ detail: "page[size]" }] } };
          const at = Number(req.query["page[cursor]"] ?? 0);
          const data = profiles.slice(at, at + 3);
          const next =
            at + 3 < profiles.length ? `${api.base}/api/profiles?page%5Bcursor%5D=${at + 3}` : null;
          return {
            type: "application/vnd.api+json",
            body: { data, links: { self: `${api.base}/api/profiles`, next, prev: null } },
          };
        }
        if (req.method === "POST" && req.path === "/api/profiles") {
          if (!/^application\/vnd\.api\+json/.test(req.headers["content-type"] ?? ""))
            return { status: 415, body: { errors: [{ detail: "unsupported media type" }] } };
          const body = JSON.parse(req.body);
          if (body?.data?.type !== "profile" || typeof body.data.attributes !== "object")
            return {
              status: 400,
              body: { errors: [{ detail: "Invalid input: data.type and data.attributes" }] },
            };
          const made = { type: "profile", id: `01N${created.length}`, attributes: body.data.attributes };
          created.push(made);
          return { status: 201, type: "application/vnd.api+json", body: { data: made } };
        }
        return { status: 404, body: { errors: [{ status: 404 }] } };
      });
    });
    after(() => api.close());

    it("drafts a valid connector: base URL as a variable, the key's prefix, the revision header, paging and records", function () {
      const draft = validateDefinition(fromOpenApi(fixture("klaviyo-profiles.json")));
      assert.equal(draft.baseUrl, "{{vars.baseUrl}}");
      assert.equal(draft.variables.find((v) => v.key === "baseUrl").default, "https://a.klaviyo.com");
      assert.deepEqual(draft.auth, [
        {
          type: "apikey",
          label: "Klaviyo-API-Key",
          in: "header",
          name: "Authorization",
          value: "Klaviyo-API-Key {{vars.klaviyoAPIKeyKey}}",
        },
      ]);
      const list = draft.endpoints.find((e) => e.id === "get-profiles");
      assert.equal(list.records, "data");
      assert.deepEqual(list.pagination, { type: "next_url", path: "links.next" });
      // Klaviyo answers application/vnd.api+json and documents that Accept: asked for by name.
      assert.deepEqual(list.headers, { revision: "2026-07-15", Accept: "application/vnd.api+json" });
      assert.equal(list.query["page[size]"], "100", "the largest page the spec allows");
      assert.ok(!list.parameters.some((p) => p.key.startsWith("page[")), "paging is the engine's");
      const sort = list.parameters.find((p) => p.key === "sort");
      assert.ok(sort.enum.includes("-updated"));
      const create = draft.endpoints.find((e) => e.id === "create-profile");
      assert.deepEqual(create.headers, {
        revision: "2026-07-15",
        Accept: "application/vnd.api+json",
        "content-type": "application/vnd.api+json",
      });
      assert.deepEqual(create.body, { data: { type: "profile", attributes: "{{record}}" } });
    });

    it("pulls every page and sends a flat record, with only the key filled in", async function () {
      const draft = validateDefinition(fromOpenApi(fixture("klaviyo-profiles.json")));
      const c = new ConnectorClient(draft, instance({ baseUrl: api.base, klaviyoAPIKeyKey: KEY }));
      const pages = await collect(c.receive("get-profiles"));
      assert.deepEqual(
        pages.map((p) => p.records.map((r) => r.id)),
        [["01P0", "01P1", "01P2"], ["01P3", "01P4", "01P5"], ["01P6"]],
      );
      assert.ok(api.log.every((e) => e.headers.revision === "2026-07-15"));
      const sent = await c.send("create-profile", [{ email: "new@example.com", first_name: "Ada" }]);
      assert.deepEqual(sent.failed, []);
      assert.deepEqual(created[0].attributes, { email: "new@example.com", first_name: "Ada" });
      assert.ok(!JSON.stringify(api.log.map((e) => e.path)).includes(KEY));
    });
  });

  describe("Stripe's published spec (starting_after with has_more, the key as basic user or bearer)", function () {
    let api;
    const products = Array.from({ length: 230 }, (_, i) => ({
      id: `prod_${String(230 - i).padStart(4, "0")}`,
      object: "product",
    }));
    const taxRates = Array.from({ length: 3 }, (_, i) => ({ id: `txr_${i}`, object: "tax_rate" }));
    before(async () => {
      api = await startStripe({
        lists: { "/v1/products": products, "/v1/tax_rates": taxRates, "/v1/coupons": [] },
      });
    });
    after(() => api.close());

    it("drafts starting_after paging with the largest page, data as the records, and the key alone as credentials", function () {
      const draft = validateDefinition(fromOpenApi(fixture("stripe-lists.json")));
      assert.equal(draft.variables.find((v) => v.key === "baseUrl").default, "https://api.stripe.com");
      assert.deepEqual(
        draft.auth.map((a) => a.type),
        ["basic", "bearer"],
      );
      assert.equal(draft.variables.find((v) => v.key === "basicAuthPassword").required, false);
      for (const id of ["getproducts", "gettaxrates", "getcoupons"]) {
        const e = draft.endpoints.find((x) => x.id === id);
        assert.deepEqual(
          [e.pagination, e.records, e.query],
          [{ type: "starting_after" }, "data", { limit: "100" }],
          id,
        );
        assert.ok(
          !e.parameters.some((p) => ["starting_after", "ending_before", "limit"].includes(p.key)),
          id,
        );
      }
    });

    it("pulls every page with only the key filled in, as basic user or as bearer token", async function () {
      const draft = validateDefinition(fromOpenApi(fixture("stripe-lists.json")));
      const basic = new ConnectorClient(draft, instance({ baseUrl: api.base, basicAuthUser: api.key }));
      const pages = await collect(basic.receive("getproducts"));
      assert.deepEqual(
        pages.map((p) => p.records.length),
        [100, 100, 30],
      );
      assert.deepEqual(
        pages.flatMap((p) => p.records.map((r) => r.id)),
        products.map((p) => p.id),
      );
      assert.deepEqual(
        api.log.map((e) => e.query),
        [
          { limit: "100" },
          { limit: "100", starting_after: "prod_0131" },
          { limit: "100", starting_after: "prod_0031" },
        ],
      );
      const bearer = new ConnectorClient(
        draft,
        instance({ baseUrl: api.base, bearerAuthToken: api.key }, { auth: 1 }),
      );
      const rates = await collect(bearer.receive("gettaxrates"));
      assert.deepEqual(
        rates.map((p) => p.records.map((r) => r.id)),
        [["txr_0", "txr_1", "txr_2"]],
      );
      const none = await collect(bearer.receive("getcoupons"));
      assert.deepEqual(
        none.map((p) => p.records),
        [[]],
      );
    });
  });

  describe("GitHub's published description (Link header, server variables, no security schemes)", function () {
    let api;
    const keys = Array.from({ length: 205 }, (_, i) => ({
      id: i + 1,
      key: `ssh-ed25519 AAAA${i}`,
      title: `k${i}`,
    }));
    before(async () => {
      api = await startGitHub({ lists: { "/user/keys": keys } });
    });
    after(() => api.close());

    it("drafts Link paging with the largest page, the server's variables, and a bearer token to choose", function () {
      const draft = validateDefinition(fromOpenApi(fixture("github-ghes-2.18-user-keys.json")));
      assert.equal(draft.baseUrl, "{{vars.protocol}}://{{vars.hostname}}/api/v3");
      assert.deepEqual(
        draft.auth.map((a) => a.type),
        ["none", "bearer"],
      );
      const list = draft.endpoints.find((e) => e.id === "users-list-public-ssh-keys-for-authenticated");
      assert.deepEqual(
        [list.pagination, list.records, list.query],
        [{ type: "link" }, "", { per_page: "100" }],
      );
      assert.equal(list.note, undefined);
    });

    it("pulls every page with only the host and token filled in", async function () {
      const draft = validateDefinition(fromOpenApi(fixture("github-ghes-2.18-user-keys.json")));
      const host = api.base.replace(/^http:\/\//, "");
      const c = new ConnectorClient(draft, instance({ hostname: host, token: api.token }, { auth: 1 }));
      const pages = await collect(c.receive("users-list-public-ssh-keys-for-authenticated"));
      assert.deepEqual(
        pages.map((p) => p.records.length),
        [100, 100, 5],
      );
      assert.deepEqual(
        pages.flatMap((p) => p.records.map((r) => r.id)),
        keys.map((k) => k.id),
      );
      assert.deepEqual(
        api.log.map((e) => [e.path, e.query]),
        [
          ["/api/v3/user/keys", { per_page: "100" }],
          ["/api/v3/user/keys", { per_page: "100", page: "2" }],
          ["/api/v3/user/keys", { per_page: "100", page: "3" }],
        ],
      );
      // Without the token the draft's default (no auth) is refused as GitHub refuses it.
      const anonymous = new ConnectorClient(draft, instance({ hostname: host }));
      await assert.rejects(collect(anonymous.receive("users-list-public-ssh-keys-for-authenticated")), /401/);
    });
  });

  describe("the OpenAPI Initiative's petstore (YAML)", function () {
    it("reads YAML, keeps types and formats, and says that no pagination was found", function () {
      const draft = validateDefinition(fromOpenApi(fixture("petstore.yaml")));
      const list = draft.endpoints.find((e) => e.id === "listpets");
      assert.equal(list.records, "");
      assert.equal(list.pagination, undefined);
      assert.match(list.note, /no pagination detected in the spec/);
      assert.deepEqual(list.parameters[0], {
        key: "limit",
        label: "limit",
        in: "query",
        type: "integer",
        format: "int32",
        help: "How many items to return at one time (max 100)",
      });
      assert.equal(draft.endpoints.find((e) => e.id === "showpetbyid").path, "/pets/{{params.petId}}");
    });

    it("refuses what is not OpenAPI 3, naming what it expected", function () {
      assert.throws(() => fromOpenApi("swagger: '2.0'\n"), /not an OpenAPI 3 document.*JSON or YAML/);
      assert.throws(() => fromOpenApi("openapi: [3\n  bad"), /neither JSON nor YAML that can be read/);
    });
  });

  describe("rules", function () {
    it("detects each common paging style from the spec", function () {
      const p = (op) => fromOpenApi(doc(op)).endpoints[0];
      const q = (name, schema = { type: "string" }) => ({ name, in: "query", schema });
      const link = p({
        parameters: [q("per_page", { type: "integer", maximum: 100 })],
        responses: {
          200: {
            headers: { Link: { schema: { type: "string" } } },
            content: { "application/json": { schema: { type: "array", items: { type: "object" } } } },
          },
        },
      });
      assert.deepEqual(
        [link.pagination, link.records, link.query],
        [{ type: "link" }, "", { per_page: "100" }],
      );
      const after = p({
        parameters: [q("after"), q("limit", { type: "integer", maximum: 100 })],
        responses: listOf({
          results: { type: "array", items: { type: "object" } },
          paging: {
            type: "object",
            properties: { next: { type: "object", properties: { after: { type: "string" } } } },
          },
        }),
      });
      assert.deepEqual(after.pagination, { type: "cursor", path: "paging.next.after", param: "after" });
      assert.equal(after.records, "results");
      const stripe = p({
        parameters: [
          q("ending_before"),
          q("limit", { type: "integer" }),
          q("starting_after"),
          q("email"),
        ].map((x) =>
          x.name === "limit"
            ? { ...x, description: "Limit can range between 1 and 100, and the default is 10." }
            : x,
        ),
        responses: listOf({
          data: { type: "array", items: { type: "object" } },
          has_more: { type: "boolean" },
          object: { type: "string", enum: ["list"] },
          url: { type: "string" },
        }),
      });
      assert.deepEqual(
        [stripe.pagination, stripe.records, stripe.query, stripe.parameters.map((x) => x.key)],
        [{ type: "starting_after" }, "data", { limit: "100" }, ["email"]],
        "starting_after with has_more: ending_before is left out, as the two exclude each other",
      );
      const odata = p({
        responses: listOf({ value: { type: "array", items: {} }, "@odata.nextLink": { type: "string" } }),
      });
      assert.deepEqual(odata.pagination, { type: "next_url", path: "['@odata.nextLink']" });
      assert.equal(odata.records, "value");
      const page = p({
        parameters: [q("page", { type: "integer" }), q("page_size", { type: "integer", maximum: 50 })],
        responses: listOf({ orders: { type: "array", items: {} }, errors: { type: "array", items: {} } }),
      });
      assert.deepEqual(page.pagination, {
        type: "page",
        pageParam: "page",
        sizeParam: "page_size",
        pageSize: 50,
      });
      assert.equal(page.records, "orders", "never errors");
      const offset = p({
        parameters: [q("offset", { type: "integer" }), q("limit", { type: "integer", default: 25 })],
        responses: listOf({ items: { type: "array", items: {} } }),
      });
      assert.deepEqual(offset.pagination, {
        type: "offset",
        offsetParam: "offset",
        limitParam: "limit",
        limit: 25,
      });
    });

    it("keeps a required Accept header's value, and leaves an optional one and plain JSON to the engine", function () {
      const accept = (required, type = "application/json") =>
        fromOpenApi(
          doc({
            parameters: [
              {
                name: "Accept",
                in: "header",
                required,
                schema: { type: "string", default: "application/hal+json" },
              },
            ],
            responses: {
              200: { content: { [type]: { schema: { type: "array", items: { type: "object" } } } } },
            },
          }),
        ).endpoints[0];
      assert.deepEqual(accept(true).headers, { Accept: "application/hal+json" });
      assert.equal(accept(false).headers, undefined, "an optional Accept is the engine's");
      assert.ok(
        !accept(false).parameters?.some((p) => /^accept$/i.test(p.key)),
        "never a parameter to fill in",
      );
      assert.deepEqual(accept(false, "application/vnd.example.v2+json").headers, {
        Accept: "application/vnd.example.v2+json",
      });
    });

    it("makes server variables instance variables with their defaults", function () {
      const d = fromOpenApi(
        doc(
          { responses: listOf({ orders: { type: "array", items: {} } }) },
          {
            servers: [
              {
                url: "https://{store_name}.example.com/admin/api/{api_version}",
                variables: {
                  store_name: { default: "" },
                  api_version: { default: "2026-10", enum: ["2026-07", "2026-10"] },
                },
              },
            ],
          },
        ),
      );
      assert.equal(d.baseUrl, "https://{{vars.storeName}}.example.com/admin/api/{{vars.apiVersion}}");
      assert.deepEqual(
        d.variables.map((v) => [v.key, v.required ?? false, v.default]),
        [
          ["storeName", true, ""],
          ["apiVersion", false, "2026-10"],
          ["token", true, undefined], // no security schemes: a bearer token to choose
        ],
      );
    });

    it("needs only the chosen auth method's variables, and never makes a deprecated scheme the default", function () {
      const d = validateDefinition(
        fromOpenApi(
          doc(
            { responses: listOf({ orders: { type: "array", items: {} } }) },
            {
              components: {
                securitySchemes: {
                  legacyKey: { type: "apiKey", in: "query", name: "key", deprecated: true },
                  token: { type: "http", scheme: "bearer" },
                  login: { type: "http", scheme: "basic" },
                },
              },
            },
          ),
        ),
      );
      assert.deepEqual(
        d.auth.map((a) => a.type),
        ["bearer", "basic", "apikey"],
      );
      // The bearer token alone is enough for the default method…
      assert.doesNotThrow(() => new ConnectorClient(d, instance({ tokenToken: "t-123456" })));
      // …and the basic method needs its own user and password, not the token.
      assert.throws(
        () => new ConnectorClient(d, instance({ tokenToken: "t-123456" }, { auth: 1 })),
        /needs "login user", "login password"/,
      );
    });

    it("wraps a request body as its schema requires, and reads specs with example: null", function () {
      const d = fromOpenApi({
        ...doc({ responses: listOf({ orders: { type: "array", items: {} } }) }),
        paths: {
          "/orders": {
            post: {
              operationId: "createOrder",
              requestBody: {
                content: {
                  "application/json": {
                    schema: {
                      type: "object",
                      required: ["order"],
                      properties: {
                        order: {
                          type: "object",
                          example: null,
                          properties: { email: { type: "string", example: null } },
                        },
                      },
                    },
                    example: null,
                  },
                },
              },
              responses: {
                201: { content: { "application/json": { example: null, schema: { example: null } } } },
              },
            },
          },
        },
      });
      assert.equal(d.endpoints[0].wrap, "order");
      assert.equal(d.endpoints[0].sample, undefined);
    });
  });
});
