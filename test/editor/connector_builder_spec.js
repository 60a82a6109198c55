// The connector builder in Chromium: from an instance's dialog, build a connector by drafting
// it from an OpenAPI document, check it, pick it for the instance, test the connection.
const assert = require("node:assert/strict");
const { openEditor, screenshotOnFailure } = require("../support/editor");
const { startServer } = require("../support/http-server");

describe("connector builder (Chromium)", function () {
  this.timeout(120000);
  let ed;
  let page;
  let api;
  before(async () => {
    api = await startServer((req) =>
      req.headers["x-api-key"] === "k-12345"
        ? { body: { data: [{ sku: "A" }, { sku: "B" }] } }
        : { status: 401, body: {} },
    );
    ed = await openEditor();
    page = ed.page;
  });
  after(async () => {
    await ed.close();
    await api.close();
  });
  afterEach(screenshotOnFailure(() => page));

  it("drafts a connector from OpenAPI, checks it, and an instance uses it before any deploy", async function () {
    const connId = await ed.addNode("pw-connection", 300, 120);
    await ed.openDialog(connId);
    await page.click("#node-input-btn-instance-add");
    await page.waitForSelector("#node-config-input-connector", { state: "visible" });
    await page.click("#pw-instance-build");
    await page.waitForSelector("#pw-connector-openapi", { state: "visible" });
    const doc = {
      openapi: "3.0.0",
      info: { title: "Stock API", version: "1.0.0" },
      servers: [{ url: api.base }],
      components: { securitySchemes: { Key: { type: "apiKey", in: "header", name: "X-API-Key" } } },
      paths: {
        "/stock": {
          get: {
            operationId: "listStock",
            summary: "List stock",
            responses: {
              200: {
                content: {
                  "application/json": {
                    schema: {
                      type: "object",
                      properties: { data: { type: "array", items: { type: "object" } } },
                    },
                  },
                },
              },
            },
          },
        },
      },
    };
    await page.fill("#pw-connector-openapi", JSON.stringify(doc));
    await page.click("#pw-connector-import");
    await page.waitForFunction(() =>
      document.querySelector("#pw-connector-problems").classList.contains("pw-connector-valid"),
    );
    await page.click("#pw-connector-validate");
    await page.waitForFunction(() =>
      /valid/.test(document.querySelector("#pw-connector-problems").textContent),
    );
    await page.click("#node-config-dialog-ok");
    await page.waitForSelector("#pw-connector-openapi", { state: "detached" });
    // Back in the instance dialog: the new connector is in the list.
    await page.focus("#node-config-input-connector");
    await page.waitForFunction(() =>
      [...document.querySelectorAll("#node-config-input-connector option")].some(
        (o) => o.value === "stock-api",
      ),
    );
    await page.selectOption("#node-config-input-connector", "stock-api");
    await page.fill("#node-config-input-name", "Stock");
    await page.locator(".pw-instance-secret-row:visible input[type='password']").fill("k-12345");
    await page.click("#pw-instance-test");
    await page.waitForFunction(() =>
      document.querySelector("#pw-instance-test-result").classList.contains("pw-instance-ok"),
    );
    assert.match(
      await page.textContent("#pw-instance-test-result"),
      /Stock API answered "List stock" with 2 record\(s\)/,
    );
    await page.click("#node-config-dialog-ok");
    await page.waitForSelector("#node-config-input-connector", { state: "detached" });
    await page.waitForFunction(() =>
      [...document.querySelectorAll("#node-input-endpoint option")].some((o) => o.value === "liststock"),
    );
    await ed.pressDone();
    const saved = await page.evaluate(() => {
      const out = {};
      RED.nodes.eachConfig((c) => {
        out[c.type] = c;
      });
      return {
        connector: JSON.parse(out["pw-connector"].definition).id,
        instance: out["pw-instance"].connector,
      };
    });
    assert.deepEqual(saved, { connector: "stock-api", instance: "stock-api" });
  });

  it("builds a connector in the form, keeping what the form does not show", async function () {
    await ed.openDialog(
      await page.evaluate(() => {
        let id;
        RED.nodes.eachNode((n) => {
          if (n.type === "pw-connection") id = n.id;
        });
        return id;
      }),
    );
    await page.click("#node-input-btn-instance-edit");
    await page.waitForSelector("#node-config-input-connector", { state: "visible" });
    await page.click("#pw-instance-build");
    await page.waitForSelector("#pw-cf-name", { state: "visible" });
    // One Name field: the definition's, which the node's name follows.
    const tray = page.locator(".red-ui-tray", { has: page.locator("#pw-cf-name") });
    assert.equal(await tray.locator("label:has-text('Name'):visible").count(), 1);
    await page.fill("#pw-cf-name", "Returns portal");
    await page.fill("#pw-cf-id", "returns-portal");
    await page.fill("#pw-cf-version", "1.0.0");
    await page.fill("#pw-cf-baseUrl", "https://returns.example.com/api");
    // The default example has a token variable and one endpoint: change them.
    await page.locator("#pw-connector-vars .pw-cv-key").first().fill("apiKey");
    await page.locator("#pw-connector-vars .pw-cv-label").first().fill("API key");
    await page.selectOption("#pw-connector-auth-type", "apikey");
    await page.fill("#pw-ca-name", "X-Key");
    await page.fill("#pw-ca-value", "{{vars.apiKey}}");
    await page.fill("#pw-cr-requests", "10");
    const ep = page.locator("#pw-connector-endpoints > li").first();
    await ep.locator(".pw-ce-id").fill("list-returns");
    await ep.locator(".pw-ce-name").fill("List returns");
    await ep.locator(".pw-ce-path").fill("/returns");
    await ep.locator(".pw-ce-records").fill("returns");
    await ep.locator(".pw-ce-paging").selectOption("cursor");
    await ep.locator(".pw-ce-paging-settings").fill("path=next_cursor, param=cursor");
    await page.click("#pw-connector-validate");
    await page.waitForFunction(() =>
      document.querySelector("#pw-connector-problems").classList.contains("pw-connector-valid"),
    );
    // To JSON and back: the form reads what the JSON says.
    await page.selectOption("#pw-connector-view", "json");
    await page.selectOption("#pw-connector-view", "form");
    assert.equal(await page.inputValue("#pw-cf-baseUrl"), "https://returns.example.com/api");
    await page.click("#node-config-dialog-ok");
    await page.waitForSelector("#pw-cf-name", { state: "detached" });
    const def = await page.evaluate(() => {
      let d;
      RED.nodes.eachConfig((c) => {
        if (c.type === "pw-connector") {
          const x = JSON.parse(c.definition);
          if (x.id === "returns-portal") d = { ...x, nodeName: c.name };
        }
      });
      return d;
    });
    assert.equal(def.nodeName, "Returns portal");
    assert.deepEqual(def.auth, [{ type: "apikey", in: "header", name: "X-Key", value: "{{vars.apiKey}}" }]);
    assert.deepEqual(def.variables, [{ key: "apiKey", label: "API key", required: true, secret: true }]);
    assert.deepEqual(def.rateLimit, [{ requests: 10, period: "second" }]);
    assert.deepEqual(def.endpoints, [
      {
        id: "list-returns",
        name: "List returns",
        entity: "items",
        direction: "receive",
        method: "GET",
        path: "/returns",
        records: "returns",
        pagination: { type: "cursor", path: "next_cursor", param: "cursor" },
      },
    ]);
    await page.click("#node-config-dialog-cancel");
    await page.waitForSelector("#node-config-input-connector", { state: "detached" });
    await page.click("#node-dialog-cancel");
    await page.waitForSelector("#node-dialog-cancel", { state: "detached" });
  });

  it("logged no console errors", function () {
    assert.deepEqual(ed.consoleErrors, []);
  });
});
