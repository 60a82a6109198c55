// Connectors built in the editor: checked by the same schema, drafted from OpenAPI 3, used by
// an instance before and after deploying, and pulled through a connection shape.
const assert = require("node:assert/strict");
const { startRuntime } = require("../support/runtime");
const { startServer } = require("../support/http-server");
const { waitUntil } = require("../support/wait");

const openapi = {
  openapi: "3.0.3",
  info: { title: "Warehouse API", version: "2.1.0" },
  servers: [{ url: "https://wms.example.com/api" }],
  components: {
    securitySchemes: { ApiKeyAuth: { type: "apiKey", in: "header", name: "X-API-Key" } },
    schemas: { Item: { type: "object", properties: { sku: { type: "string" }, qty: { type: "integer" } } } },
  },
  paths: {
    "/items": {
      get: {
        operationId: "listItems",
        summary: "List stock items",
        tags: ["stock"],
        parameters: [
          { name: "warehouse", in: "query", description: "Warehouse code" },
          { name: "page", in: "query" },
        ],
        responses: {
          200: {
            content: {
              "application/json": {
                schema: {
                  type: "object",
                  properties: {
                    data: { type: "array", items: { $ref: "#/components/schemas/Item" } },
                    next: { type: "string" },
                  },
                },
                example: { data: [{ sku: "A", qty: 2 }] },
              },
            },
          },
        },
      },
      post: { operationId: "createItem", summary: "Create an item", responses: { 201: {} } },
    },
    "/items/{sku}": {
      put: {
        operationId: "updateItem",
        summary: "Update an item",
        parameters: [{ name: "sku", in: "path", required: true }],
        responses: { 200: {} },
      },
    },
  },
};

describe("connector builder (runtime)", function () {
  let rt;
  let api;
  const seen = [];
  before(async () => {
    api = await startServer((req) =>
      req.headers["x-api-key"] === "wms-key-123"
        ? { body: { data: [{ sku: "A", qty: Number(req.query.warehouse === "LDS") }] } }
        : { status: 401, body: { error: "bad key" } },
    );
    rt = await startRuntime({ functionGlobalContext: { seen }, patchworks: { runs: { settleMs: 40 } } });
  });
  after(async () => {
    await rt.stop();
    await api.close();
  });

  let draft;
  it("drafts a connector from an OpenAPI 3 document", async function () {
    const res = await rt.api("POST", "/pw/connectors/from-openapi", { document: openapi });
    assert.equal(res.status, 200, res.text);
    draft = res.json.definition;
    assert.deepEqual(res.json.problems, []);
    assert.equal(draft.id, "warehouse-api");
    // The address is a variable with the spec's server as its default, never a fixed literal.
    assert.equal(draft.baseUrl, "{{vars.baseUrl}}");
    assert.equal(draft.variables.find((v) => v.key === "baseUrl").default, "https://wms.example.com/api");
    assert.deepEqual(draft.auth, [
      {
        type: "apikey",
        label: "ApiKeyAuth",
        in: "header",
        name: "X-API-Key",
        value: "{{vars.apiKeyAuthKey}}",
      },
    ]);
    assert.ok(draft.variables.find((v) => v.key === "apiKeyAuthKey").secret);
    const list = draft.endpoints.find((e) => e.id === "listitems");
    assert.equal(list.direction, "receive");
    assert.equal(list.records, "data");
    assert.deepEqual(list.sample, { sku: "A", qty: 2 });
    // The answer's next URL pages the list, page included: the engine's, not a filter.
    assert.deepEqual(
      list.parameters.map((p) => p.key),
      ["warehouse"],
    );
    assert.deepEqual(list.pagination, { type: "next_url", path: "next" });
    assert.equal(draft.endpoints.find((e) => e.id === "updateitem").path, "/items/{{record.sku}}");
    assert.equal(draft.endpoints.find((e) => e.id === "createitem").direction, "send");
    assert.match(
      (await rt.api("POST", "/pw/connectors/from-openapi", { document: { swagger: "2.0" } })).json.message,
      /not an OpenAPI 3 document/,
    );
  });

  it("checks a definition and names what is wrong", async function () {
    assert.equal(
      (await rt.api("POST", "/pw/connectors/validate", { definition: JSON.stringify(draft) })).json.ok,
      true,
    );
    const bad = await rt.api("POST", "/pw/connectors/validate", {
      definition: { ...draft, endpoints: [{ ...draft.endpoints[0], method: "FETCH" }] },
    });
    assert.equal(bad.json.ok, false);
    assert.ok(bad.json.problems.some((p) => /endpoints\[0\]\.method: must be one of/.test(p)));
    assert.match(
      (await rt.api("POST", "/pw/connectors/validate", { definition: "{nope" })).json.problems[0],
      /not JSON/,
    );
  });

  it("tests an instance of a connector that is not deployed yet", async function () {
    const definition = { ...draft, baseUrl: api.base };
    const res = await rt.api("POST", "/pw/instances/test", {
      connector: draft.id,
      definition,
      vars: {},
      secrets: { apiKeyAuthKey: "wms-key-123" },
      endpoint: "listitems",
    });
    assert.equal(res.json.ok, true, res.json.message);
    assert.match(res.json.message, /Warehouse API answered "List stock items" with 1 record/);
  });

  it("offers a deployed built connector to instances, and a connection shape pulls through it", async function () {
    await rt.deploy([
      { id: "t", type: "tab", label: "WMS" },
      {
        id: "conn1",
        type: "pw-connector",
        name: "WMS",
        definition: JSON.stringify({ ...draft, baseUrl: api.base }),
      },
      {
        id: "wms",
        type: "pw-instance",
        name: "Leeds WMS",
        connector: "warehouse-api",
        vars: {},
        secretSlots: { apiKeyAuthKey: 0 },
        credentials: { secret_0: "wms-key-123" },
      },
      { id: "trig", type: "pw-trigger", z: "t", name: "go", schedules: [], wires: [["pull"]] },
      {
        id: "pull",
        type: "pw-connection",
        z: "t",
        instance: "wms",
        endpoint: "listitems",
        params: [{ key: "warehouse", valueType: "str", value: "LDS" }],
        wires: [["out"]],
      },
      {
        id: "out",
        type: "function",
        z: "t",
        func: "global.get('seen').push(msg.payload); return null;",
        outputs: 0,
        wires: [],
      },
    ]);
    const listed = (await rt.api("GET", "/pw/connectors")).json.connectors.map((c) => c.id);
    assert.ok(listed.includes("warehouse-api") && listed.includes("shopify"));
    await rt.api("POST", "/pw/trigger/trig", {});
    await waitUntil(() => seen.length > 0, "the items");
    assert.deepEqual(seen[0], [{ sku: "A", qty: 1 }]);
  });

  it("imports Klaviyo's published spec, pulls every page from a server that follows it, and sends a record", async function () {
    const fs = require("node:fs");
    const path = require("node:path");
    const dir = path.join(__dirname, "..", "fixtures", "openapi");
    // YAML arrives as text and is read by the runtime.
    const yaml = await rt.api("POST", "/pw/connectors/from-openapi", {
      document: fs.readFileSync(path.join(dir, "petstore.yaml"), "utf8"),
    });
    assert.equal(yaml.status, 200, yaml.text);
    assert.equal(yaml.json.definition.name, "Swagger Petstore");
    const res = await rt.api("POST", "/pw/connectors/from-openapi", {
      document: fs.readFileSync(path.join(dir, "klaviyo-profiles.json"), "utf8"),
    });
    assert.deepEqual(res.json.problems, []);
    const klaviyo = res.json.definition;
    const KEY = "pk_runtime_0123456789";
    const people = Array.from({ length: 5 }, (_, i) => ({
      type: "profile",
      id: `P${i}`,
      attributes: { email: `p${i}@x.com` },
    }));
    const created = [];
    const k = await startServer((req) => {
      if (req.headers.authorization !== `Klaviyo-API-Key ${KEY}` || req.headers.revision !== "2026-07-15")
        return { status: 401, body: { errors: [{ status: 401 }] } };
      if (req.method === "GET") {
        const at = Number(req.query["page[cursor]"] ?? 0);
        const next = at + 2 < people.length ? `${k.base}/api/profiles?page%5Bcursor%5D=${at + 2}` : null;
        return {
          type: "application/vnd.api+json",
          body: { data: people.slice(at, at + 2), links: { next } },
        };
      }
      const body = JSON.parse(req.body);
      if (req.headers["content-type"] !== "application/vnd.api+json" || body.data?.type !== "profile")
        return { status: 400, body: { errors: [{ detail: "a JSON:API profile document is required" }] } };
      created.push(body.data.attributes);
      return {
        status: 201,
        type: "application/vnd.api+json",
        body: { data: { type: "profile", id: "N1", attributes: body.data.attributes } },
      };
    });
    const pages = [];
    try {
      await rt.deploy([
        { id: "t2", type: "tab", label: "Klaviyo" },
        { id: "kconn", type: "pw-connector", name: "Klaviyo", definition: JSON.stringify(klaviyo) },
        {
          id: "kinst",
          type: "pw-instance",
          name: "Klaviyo",
          connector: klaviyo.id,
          vars: { baseUrl: k.base },
          secretSlots: { klaviyoAPIKeyKey: 0 },
          credentials: { secret_0: KEY },
        },
        { id: "ktrig", type: "pw-trigger", z: "t2", name: "go", schedules: [], wires: [["kpull"]] },
        {
          id: "kpull",
          type: "pw-connection",
          z: "t2",
          instance: "kinst",
          endpoint: "get-profiles",
          wires: [["kout"]],
        },
        {
          id: "kout",
          type: "function",
          z: "t2",
          func: "global.get('seen').push({ k: msg.payload.map((p) => p.id), last: msg.pw.page.last }); return null;",
          outputs: 0,
          wires: [],
        },
        { id: "ksend-trig", type: "pw-trigger", z: "t2", name: "send", schedules: [], wires: [["ksend"]] },
        {
          id: "ksend",
          type: "pw-connection",
          z: "t2",
          instance: "kinst",
          endpoint: "create-profile",
          wires: [[]],
        },
      ]);
      seen.length = 0;
      await rt.api("POST", "/pw/trigger/ktrig", {});
      await waitUntil(() => seen.some((s) => s.last), "the last page");
      pages.push(...seen.map((s) => s.k));
      assert.deepEqual(pages, [["P0", "P1"], ["P2", "P3"], ["P4"]]);
      const run = (await rt.api("POST", "/pw/trigger/ksend-trig", { email: "new@x.com", first_name: "Ada" }))
        .json.run;
      await waitUntil(() => created.length > 0, `the profile (run ${run.id})`);
      assert.deepEqual(created[0], { email: "new@x.com", first_name: "Ada" });
    } finally {
      await k.close();
    }
  });
});
