const assert = require("node:assert/strict");
const Mustache = require("mustache");
const { lib } = require("../support/dist");
const { compileTemplate, lookupObject } = lib("templates");

describe("templates", function () {
  it("renders payload, meta, run, flow, global and env without HTML escaping", function () {
    const render = compileTemplate(
      "{{payload.name}} <{{meta.email}}> run {{run.id}} {{flow.region}} {{global.tier}} {{env.SHOP}}",
    );
    const view = {
      payload: { name: "Tom & Jerry" },
      meta: { email: "t&j@example.com" },
      run: { id: "R1" },
      flow: lookupObject((k) => ({ region: "EU" })[k]),
      global: lookupObject((k) => (k === "tier" ? "gold" : undefined)),
      env: lookupObject((k) => (k === "SHOP" ? "acme" : undefined)),
    };
    assert.equal(render(view), "Tom & Jerry <t&j@example.com> run R1 EU gold acme");
  });

  it("URL-encodes values when the template goes into a URL", function () {
    const render = compileTemplate("/orders/{{payload.id}}?q={{payload.q}}", "url");
    assert.equal(render({ payload: { id: "a/b", q: "x y&z" } }), "/orders/a%2Fb?q=x%20y%26z");
  });

  it("renders objects as JSON and missing values as nothing", function () {
    assert.equal(compileTemplate("{{payload.a}}|{{payload.none}}")({ payload: { a: { b: 1 } } }), '{"b":1}|');
  });

  it("rejects a broken template at compile time and leaves Mustache.escape alone", function () {
    const escape = Mustache.escape;
    assert.throws(() => compileTemplate("{{#items}}x"), /template "\{\{#items\}\}x" is not valid/);
    compileTemplate("{{a}}", "url")({ a: "<" });
    assert.equal(Mustache.escape, escape);
    assert.equal(Mustache.render("{{a}}", { a: "<" }), "&lt;");
  });

  it("reads context keys lazily, only those the template names", function () {
    const asked = [];
    const flow = lookupObject((k) => (asked.push(k), k.toUpperCase()));
    assert.equal(compileTemplate("{{flow.x}}")({ flow }), "X");
    assert.deepEqual([...new Set(asked)], ["x"]);
  });
});
