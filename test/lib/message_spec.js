const assert = require("node:assert/strict");
const { lib } = require("../support/dist");
const { startRun, readPw } = lib("message");
const { newId } = lib("ids");
const { withMeta, META_MAX_BYTES, toMetaString } = lib("meta");

describe("run context", function () {
  it("starts a run with a unique, time-ordered id and empty meta", function () {
    const now = new Date("2026-11-27T10:00:00Z");
    const a = startRun({ flow: "tab1", trigger: "t1", via: "manual", now });
    assert.deepEqual(a.meta, {});
    assert.equal(a.run.flow, "tab1");
    assert.equal(a.run.trigger, "t1");
    assert.equal(a.run.via, "manual");
    assert.equal(a.run.startedAt, "2026-11-27T10:00:00.000Z");
    assert.equal(a.run.parent, undefined);
    const ids = new Set(Array.from({ length: 1000 }, () => startRun({ flow: "f", trigger: "t" }).run.id));
    assert.equal(ids.size, 1000);
    assert.ok(newId(1000) < newId(2000), "ids sort by time");
    assert.match(a.run.id, /^[0-9A-HJKMNP-TV-Z]{26}$/);
  });

  it("links a run started by another run's message and keeps its meta", function () {
    const parent = startRun({ flow: "f", trigger: "t" });
    parent.meta.order = "1001";
    const child = startRun({ flow: "g", trigger: "u", parent });
    assert.equal(child.run.parent, parent.run.id);
    assert.deepEqual(child.meta, { order: "1001" });
    assert.notEqual(child.meta, parent.meta, "a copy, not the parent's object");
  });

  it("reads only well-formed run contexts", function () {
    assert.equal(readPw({}), undefined);
    assert.equal(readPw({ pw: { run: {} } }), undefined);
    assert.equal(readPw({ pw: "x" }), undefined);
    const pw = startRun({ flow: "f", trigger: "t" });
    assert.equal(readPw({ pw }), pw);
  });
});

describe("meta variables", function () {
  it("stores text and turns other values into text", function () {
    assert.equal(toMetaString(12), "12");
    assert.equal(toMetaString({ a: 1 }), '{"a":1}');
    assert.equal(toMetaString(null), "");
    const before = { a: "1" };
    const after = withMeta(before, { b: 2 });
    assert.deepEqual(after, { a: "1", b: "2" });
    assert.deepEqual(before, { a: "1" }, "the old object is untouched");
  });

  it("refuses to grow past 10,240 bytes, naming the largest variable", function () {
    assert.equal(META_MAX_BYTES, 10240);
    withMeta({}, { big: "x".repeat(10000) });
    assert.throws(
      () => withMeta({ small: "1" }, { big: "é".repeat(6000) }),
      /over the 10240-byte limit \(largest: "big", 12000 bytes\)/,
    );
  });
});
