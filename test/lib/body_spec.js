const assert = require("node:assert/strict");
const { Readable } = require("node:stream");
const { lib } = require("../support/dist");
const { parseBody, readBody, parseSize, formToObject, HttpError } = lib("webhook/body");

const stream = (chunks, headers = {}) =>
  Object.assign(Readable.from(chunks.map((c) => Buffer.from(c))), { headers });

describe("webhook bodies", function () {
  it("parses JSON, form, XML and text by content type", function () {
    assert.deepEqual(parseBody(Buffer.from('{"a":1}'), "application/json; charset=utf-8"), {
      kind: "json",
      value: { a: 1 },
    });
    assert.deepEqual(parseBody(Buffer.from('{"a":1}'), "application/vnd.api+json").value, { a: 1 });
    assert.deepEqual(parseBody(Buffer.from("a=1&b=x%20y&a=2"), "application/x-www-form-urlencoded").value, {
      a: ["1", "2"],
      b: "x y",
    });
    const xml = parseBody(Buffer.from('<order id="7"><sku>A1</sku><qty>2</qty></order>'), "text/xml");
    assert.deepEqual(xml, { kind: "xml", value: { order: { sku: "A1", qty: "2", "@_id": "7" } } });
    assert.deepEqual(parseBody(Buffer.from("hello"), "text/plain"), { kind: "text", value: "hello" });
    assert.equal(parseBody(Buffer.from([1, 2]), "application/octet-stream").kind, "binary");
    assert.deepEqual(parseBody(Buffer.alloc(0), "application/json"), { kind: "empty", value: undefined });
  });

  it("answers 400 for a body that does not parse", function () {
    assert.throws(
      () => parseBody(Buffer.from("{oops"), "application/json"),
      (e) => e instanceof HttpError && e.status === 400 && /not valid JSON/.test(e.message),
    );
    assert.throws(
      () => parseBody(Buffer.from("<a><b></a>"), "application/xml"),
      (e) => e.status === 400 && /not valid XML/.test(e.message),
    );
  });

  it("reads a body in chunks and refuses one over the limit with 413", async function () {
    assert.equal((await readBody(stream(["ab", "cd"]), 10)).toString(), "abcd");
    await assert.rejects(readBody(stream(["abcdef", "ghijkl"]), 8), (e) => e.status === 413);
    await assert.rejects(
      readBody(stream(["x"], { "content-length": "999" }), 8),
      (e) => e.status === 413 && /999 bytes/.test(e.message),
    );
  });

  it("understands sizes written the way people write them", function () {
    assert.equal(parseSize("10mb"), 10 * 1024 * 1024);
    assert.equal(parseSize("512 KB"), 512 * 1024);
    assert.equal(parseSize(2048), 2048);
    assert.throws(() => parseSize("lots"), /not valid/);
  });

  it("keeps repeated form fields", function () {
    assert.deepEqual(formToObject("tag=a&tag=b&tag=c"), { tag: ["a", "b", "c"] });
  });
});
