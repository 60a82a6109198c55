const assert = require("node:assert/strict");
const { lib } = require("../support/dist");
const { parsePath, compileGetter, hasWildcard } = lib("paths");

describe("paths", function () {
  it("parses dot paths, indexes, quoted keys and wildcards", function () {
    assert.deepEqual(parsePath("customer.addresses[0]['zip.code'][*].x.*"), [
      { kind: "key", key: "customer" },
      { kind: "key", key: "addresses" },
      { kind: "index", index: 0 },
      { kind: "key", key: "zip.code" },
      { kind: "all" },
      { kind: "key", key: "x" },
      { kind: "all" },
    ]);
    assert.deepEqual(parsePath('["a b"]'), [{ kind: "key", key: "a b" }]);
    assert.deepEqual(parsePath(""), []);
  });

  it("rejects malformed paths naming the position", function () {
    assert.throws(() => parsePath("a..b"), /empty key at character 3/);
    assert.throws(() => parsePath("a."), /trailing dot/);
    assert.throws(() => parsePath("a[x]"), /use \[n\], \[\*\] or \['key'\]/);
    assert.throws(() => parsePath("a['b]"), /unclosed quoted key/);
    assert.throws(() => parsePath("a[0"), /without "\]"/);
  });

  it("gets values and returns undefined through missing parts", function () {
    const get = compileGetter("order.lines[1].sku");
    assert.equal(get({ order: { lines: [{ sku: "A" }, { sku: "B" }] } }), "B");
    assert.equal(get({ order: null }), undefined);
    assert.equal(get(undefined), undefined);
    assert.equal(compileGetter("")(5), 5);
    assert.equal(compileGetter("a")({ a: 0 }), 0);
  });

  it("collects every element's value through wildcards", function () {
    const orders = [{ lines: [{ sku: "A" }, { sku: "B" }] }, { lines: [{ sku: "C" }, {}] }, { lines: null }];
    assert.deepEqual(compileGetter("[*].lines[*].sku")(orders), ["A", "B", "C"]);
    assert.deepEqual(compileGetter("*.lines[0].sku")(orders), ["A", "C"]);
    assert.deepEqual(compileGetter("[*].id")({ not: "an array" }), []);
    assert.ok(hasWildcard(parsePath("a[*]")));
  });
});
