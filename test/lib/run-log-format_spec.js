// The run log's line format: its version, the step-row layout, and lines written before.
const assert = require("node:assert/strict");
const fs = require("node:fs");
const os = require("node:os");
const path = require("node:path");
const { root, lib } = require("../support/dist");
const { FileRunStore, toLine, fromLine, LINE_VERSION, RunLineVersionError } = lib("runs/store");
const steps = lib("runs/steps");
const { StepTable, STEP_COLUMNS, STEP_FIELDS, rowsOf, stepsFromRows } = steps;

const FIXTURE = path.join(root, "test", "fixtures", "run-log-v1.jsonl");
const T0 = Date.parse("2026-11-20T10:00:00Z");
const fixtureLines = () => fs.readFileSync(FIXTURE, "utf8").trim().split("\n");

/** What every line of run-log-v1.jsonl holds, field by field, written out by hand. */
function expectedV1() {
  const requests = [];
  for (let page = 6; page <= 205; page++) {
    const url = `https://shop.example/admin/orders.json?page=${page}`;
    requests.push(
      page < 205
        ? { method: "GET", url, status: 200, attempts: 1, durationMs: 7, at: T0 + 3 + page }
        : {
            method: "GET",
            url,
            status: 429,
            attempts: 3,
            durationMs: 7,
            at: T0 + 208,
            error: "Too Many Requests – später erneut",
          },
    );
  }
  const trig = "Bestellungen ✓ empfangen";
  const fnName = "Prüfe Größe 注文";
  const meta1 = { kunde: "Zoë Ångström", 注文: "東京 🚚" };
  const run1 = "01M7W6C38062A1JZX10PRM4CPV";
  const run2 = "01M7W6C4TKS243P1G4HE6PCPR6";
  const run7 = {
    id: "01M7W6C3EJPFJH7DXDNWX5EBP5",
    flow: "flow-1",
    trigger: "trig",
    via: "flow",
    parent: run1,
    status: "running",
    startedAt: T0 + 210,
    errors: [],
    failedRecords: 0,
    input: { payloadJson: '{"child":"ß"}', meta: meta1, bytes: 14 },
    steps: {},
  };
  const run9 = {
    id: "01M7W6EA1D46G139GX5J9YBZKJ",
    flow: "flow-1",
    trigger: "trig",
    via: "schedule",
    status: "running",
    startedAt: T0 + 72493,
    errors: [],
    failedRecords: 0,
    input: { payloadJson: '{"page":1}', meta: {}, bytes: 10 },
    steps: {},
  };
  return [
    {
      id: run1,
      flow: "flow-1",
      trigger: "trig",
      via: "webhook",
      status: "succeeded",
      startedAt: T0,
      endedAt: T0 + 319,
      durationMs: 319,
      errors: [
        {
          node: "fn",
          type: "function",
          name: fnName,
          message: "Größe fehlt für Auftrag #1002",
          at: T0 + 219,
          handled: true,
        },
      ],
      failedRecords: 0,
      snapshots: "all",
      input: {
        payloadJson: '{"orders":[{"id":1001,"total":12.5}],"token":"***"}',
        meta: meta1,
        bytes: 51,
      },
      steps: {
        trig: {
          node: "trig",
          type: "pw-trigger",
          name: trig,
          messagesIn: 0,
          messagesOut: 1,
          recordsIn: 0,
          recordsOut: 3,
          errors: 0,
          timeMs: 0,
          firstAt: T0,
          lastAt: T0,
        },
        http: {
          node: "http",
          type: "pw-connection",
          name: "Shopify: Aufträge → ERP",
          messagesIn: 1,
          messagesOut: 1,
          recordsIn: 3,
          recordsOut: 2,
          errors: 0,
          timeMs: 205,
          firstAt: T0 + 3,
          lastAt: T0 + 208,
          requests,
          requestsDropped: 5,
          snapshots: 1,
        },
        fn: {
          node: "fn",
          type: "function",
          name: fnName,
          messagesIn: 1,
          messagesOut: 1,
          recordsIn: 2,
          recordsOut: 2,
          errors: 1,
          timeMs: 9,
          firstAt: T0 + 210,
          lastAt: T0 + 219,
          untracked: 1,
          snapshots: 3,
        },
        catch: {
          node: "catch",
          type: "catch",
          messagesIn: 1,
          messagesOut: 0,
          recordsIn: 2,
          recordsOut: 0,
          errors: 0,
          timeMs: 0,
          firstAt: T0 + 219,
          lastAt: T0 + 219,
          snapshots: 1,
        },
      },
    },
    run7,
    {
      ...run7,
      status: "succeeded",
      endedAt: T0 + 1519,
      durationMs: 1309,
      steps: {
        trig: {
          node: "trig",
          type: "pw-trigger",
          name: trig,
          messagesIn: 0,
          messagesOut: 1,
          recordsIn: 0,
          recordsOut: 0,
          errors: 0,
          timeMs: 0,
          firstAt: T0 + 210,
          lastAt: T0 + 210,
        },
        fn: {
          node: "fn",
          type: "function",
          name: fnName,
          messagesIn: 1,
          messagesOut: 0,
          recordsIn: 0,
          recordsOut: 0,
          errors: 0,
          timeMs: 1209,
          firstAt: T0 + 210,
          lastAt: T0 + 1419,
          untracked: 1,
        },
      },
    },
    {
      id: run2,
      flow: "flow-1",
      trigger: "trig",
      via: "schedule",
      status: "failed",
      startedAt: T0 + 1619,
      endedAt: T0 + 1731,
      durationMs: 112,
      errors: [
        {
          node: "map",
          type: "pw-map",
          name: "Map 🚚",
          message: 'field "price" is missing',
          at: T0 + 1631,
          handled: false,
        },
        {
          node: "log",
          type: "debug",
          message: "could not write to the console",
          at: T0 + 1631,
          handled: false,
        },
      ],
      failedRecords: 0,
      reason: "2 error(s) not handled by a Catch node",
      snapshots: "errors",
      input: { payloadJson: '[{"sku":"A-1"}]', meta: {}, bytes: 15 },
      steps: {
        trig: {
          node: "trig",
          type: "pw-trigger",
          name: trig,
          messagesIn: 0,
          messagesOut: 1,
          recordsIn: 0,
          recordsOut: 1,
          errors: 0,
          timeMs: 0,
          firstAt: T0 + 1619,
          lastAt: T0 + 1619,
        },
        map: {
          node: "map",
          type: "pw-map",
          name: "Map 🚚",
          messagesIn: 1,
          messagesOut: 0,
          recordsIn: 1,
          recordsOut: 0,
          errors: 1,
          timeMs: 12,
          firstAt: T0 + 1619,
          lastAt: T0 + 1631,
          snapshots: 1,
        },
        // An empty name is written as "" (the live run leaves it out), and read back as "".
        log: {
          node: "log",
          type: "debug",
          name: "",
          messagesIn: 1,
          messagesOut: 0,
          recordsIn: 1,
          recordsOut: 0,
          errors: 1,
          timeMs: 0,
          firstAt: T0 + 1631,
          lastAt: T0 + 1631,
        },
      },
    },
    {
      id: "01M7W6C517W8YVKD5T56PEFVB5",
      flow: "flow-1",
      trigger: "trig",
      via: "manual",
      status: "completed with failures",
      startedAt: T0 + 1831,
      endedAt: T0 + 1933,
      durationMs: 102,
      errors: [],
      failedRecords: 2,
      reason: "2 record(s) went to a failure output",
      input: { payloadJson: "[1,2,3,4]", meta: {}, bytes: 9 },
      steps: {
        trig: {
          node: "trig",
          type: "pw-trigger",
          name: trig,
          messagesIn: 0,
          messagesOut: 1,
          recordsIn: 0,
          recordsOut: 4,
          errors: 0,
          timeMs: 0,
          firstAt: T0 + 1831,
          lastAt: T0 + 1831,
        },
        filter: {
          node: "filter",
          type: "pw-filter",
          name: "Nur bezahlt",
          messagesIn: 1,
          messagesOut: 1,
          recordsIn: 4,
          recordsOut: 2,
          errors: 0,
          timeMs: 2,
          firstAt: T0 + 1831,
          lastAt: T0 + 1833,
        },
      },
    },
    {
      id: "01M7W6C57HNH8EKXGKNGG4QAVW",
      flow: "flow-1",
      trigger: "trig",
      via: "webhook",
      status: "queued",
      queuedAt: T0 + 2033,
      startedAt: T0 + 2033,
      errors: [],
      failedRecords: 0,
      input: { payloadJson: '{"sku":"Q-1"}', meta: { quelle: "Webhook – Lager" }, bytes: 13 },
      steps: {},
    },
    {
      id: "01M7W6C57VBTJE4FAE485BM39K",
      flow: "flow-1",
      trigger: "trig",
      via: "event",
      status: "stopped",
      queuedAt: T0 - 457,
      startedAt: T0 + 2043,
      endedAt: T0 + 2083,
      durationMs: 40,
      errors: [],
      failedRecords: 0,
      reason: "stopped by Zoë: falscher Zeitraum",
      input: { payloadJson: '{"sku":"S-1"}', meta: {}, bytes: 13 },
      steps: {
        trig: {
          node: "trig",
          type: "pw-trigger",
          name: trig,
          messagesIn: 0,
          messagesOut: 1,
          recordsIn: 0,
          recordsOut: 0,
          errors: 0,
          timeMs: 0,
          firstAt: T0 + 2043,
          lastAt: T0 + 2043,
        },
        slow: {
          node: "slow",
          type: "pw-connection",
          name: "Langsam",
          messagesIn: 1,
          messagesOut: 0,
          recordsIn: 0,
          recordsOut: 0,
          errors: 0,
          timeMs: 0,
          firstAt: T0 + 2043,
          lastAt: T0 + 2043,
        },
      },
    },
    {
      id: "01M7W6C59D0CJA7N4DCMXVCRR0",
      flow: "flow-1",
      trigger: "trig",
      via: "manual",
      status: "succeeded",
      startedAt: T0 + 2093,
      endedAt: T0 + 2193,
      durationMs: 100,
      errors: [],
      failedRecords: 0,
      input: { meta: {}, bytes: 4097, truncated: true },
      steps: {},
    },
    {
      id: "01M7W6C5FNTX821P1NRGZ49EZS",
      flow: "flow-1",
      trigger: "trig",
      via: "manual",
      status: "succeeded",
      startedAt: T0 + 2293,
      endedAt: T0 + 2393,
      durationMs: 100,
      errors: [],
      failedRecords: 0,
      snapshots: "never",
      input: { meta: { a: "b" }, truncated: true, bytes: 0 },
      steps: {},
    },
    {
      id: "01M7W6C5NX8GGA6AVAMQ78S7KJ",
      flow: "flow-1",
      trigger: "trig",
      via: "retry",
      retryOf: run2,
      status: "timed out",
      startedAt: T0 + 2493,
      endedAt: T0 + 65000,
      durationMs: 62507,
      errors: [],
      failedRecords: 0,
      reason: "no activity for 60 s with 1 message(s) unfinished",
      input: { payloadJson: '[{"sku":"A-1"}]', meta: {}, bytes: 15 },
      steps: {
        trig: {
          node: "trig",
          type: "pw-trigger",
          name: trig,
          messagesIn: 0,
          messagesOut: 1,
          recordsIn: 0,
          recordsOut: 1,
          errors: 0,
          timeMs: 0,
          firstAt: T0 + 2493,
          lastAt: T0 + 2493,
        },
        slow: {
          node: "slow",
          type: "pw-connection",
          name: "Langsam",
          messagesIn: 1,
          messagesOut: 0,
          recordsIn: 1,
          recordsOut: 0,
          errors: 0,
          timeMs: 0,
          firstAt: T0 + 2493,
          lastAt: T0 + 2493,
        },
      },
    },
    run9,
    {
      ...run9,
      status: "failed",
      endedAt: T0 + 73993,
      durationMs: 1500,
      reason: "Node-RED stopped while the run was in progress",
      steps: {
        trig: {
          node: "trig",
          type: "pw-trigger",
          name: trig,
          messagesIn: 0,
          messagesOut: 1,
          recordsIn: 0,
          recordsOut: 0,
          errors: 0,
          timeMs: 0,
          firstAt: T0 + 72493,
          lastAt: T0 + 72493,
        },
        slow: {
          node: "slow",
          type: "pw-connection",
          name: "Langsam",
          messagesIn: 1,
          messagesOut: 0,
          recordsIn: 0,
          recordsOut: 0,
          errors: 0,
          timeMs: 0,
          firstAt: T0 + 72493,
          lastAt: T0 + 72493,
        },
      },
    },
  ];
}

/** A line in a format this version does not know: a column inserted before the counts. */
const newerLine = (id) =>
  `{"v":2,"id":"${id}","flow":"f","trigger":"t","status":"succeeded","startedAt":${T0},"endedAt":${T0 + 5},` +
  `"durationMs":5,"errors":[],"failedRecords":0,"input":{"meta":{},"bytes":0},` +
  `"steps":[["n","function",null,"eu-west",1,1,0,0,0,3,0,3]]}`;

describe("run log format", function () {
  let dir;
  beforeEach(() => (dir = fs.mkdtempSync(path.join(os.tmpdir(), "pw-runlog-"))));
  afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

  it("reads every field of a log written before lines carried a version, as version 1", function () {
    const lines = fixtureLines();
    const expected = expectedV1();
    assert.equal(lines.length, expected.length);
    lines.forEach((line, i) => {
      assert.ok(!line.includes('"v":'), "the fixture is the format as it was, without a version");
      assert.deepEqual(fromLine(line), expected[i], `line ${i + 1} of run-log-v1.jsonl`);
    });
  });

  it("opens a day file of such lines with the latest line of each run winning", async function () {
    fs.copyFileSync(FIXTURE, path.join(dir, "runs-2026-11-20.jsonl"));
    const clock = { now: () => T0 + 80_000, setTimer: () => ({}), clearTimer: () => undefined };
    const warnings = [];
    const store = new FileRunStore({ dir, clock, warn: (m) => warnings.push(m) });
    await store.open();
    const expected = expectedV1();
    const latest = new Map(expected.map((r) => [r.id, r]));
    assert.equal(store.list().length, latest.size);
    for (const [id, record] of latest) assert.deepEqual(store.get(id), record);
    assert.deepEqual(warnings, []);
    await store.close();
  });

  it(`writes version ${LINE_VERSION} first in every line, and reads its own lines back unchanged`, function () {
    for (const line of fixtureLines()) {
      const record = fromLine(line);
      const written = toLine(record);
      assert.ok(written.startsWith(`{"v":${LINE_VERSION},"id":`), written.slice(0, 40));
      assert.deepEqual(fromLine(written), record);
      assert.ok(!("v" in fromLine(written)), "the version is the line's, not the run's");
      // The format itself did not change: the same line, with its version in front.
      assert.equal(written, line.replace("{", `{"v":${LINE_VERSION},`));
    }
  });

  it("does not read a line in a format it does not know, rather than misread it", function () {
    const line = newerLine("01M7W6C38062A1JZX10PRM4CPZ");
    assert.throws(
      () => fromLine(line),
      (err) =>
        err instanceof RunLineVersionError &&
        err.version === 2 &&
        /format version 2; this version of node-red-contrib-patchworks reads versions 1 to 1/.test(
          err.message,
        ),
    );
    assert.throws(() => fromLine(line.replace('"v":2', '"v":"1"')), RunLineVersionError);
  });

  it("leaves out runs in a newer format with one warning per file, and keeps their lines in the file", async function () {
    const file = path.join(dir, "runs-2026-11-20.jsonl");
    const lines = fixtureLines();
    const newer = [newerLine("01M7W6C38062A1JZX10PRM4CPY"), newerLine("01M7W6C38062A1JZX10PRM4CPZ")];
    fs.writeFileSync(file, [lines[0], newer[0], lines[4], newer[1]].join("\n") + "\n");
    const clock = { now: () => T0 + 80_000, setTimer: () => ({}), clearTimer: () => undefined };
    const warnings = [];
    const store = new FileRunStore({ dir, clock, maxRuns: 1, warn: (m) => warnings.push(m) });
    await store.open();
    assert.equal(warnings.length, 1);
    assert.match(
      warnings[0],
      /^2 line\(s\) of runs-2026-11-20\.jsonl left out: they are in run log format version 2, written by a newer version/,
    );
    // Opening pruned the oldest run to keep maxRuns, rewriting the file: the newer lines stay,
    // and so does the kept run's line as it was.
    assert.deepEqual(
      store.list().map((r) => r.id),
      [fromLine(lines[4]).id],
    );
    const kept = fs.readFileSync(file, "utf8").trim().split("\n");
    assert.deepEqual(kept, [...newer, lines[4]]);
    await store.close();
  });

  it("lets lines in a newer format go with their day's file once it expires", async function () {
    const file = path.join(dir, "runs-2026-11-20.jsonl");
    fs.writeFileSync(file, [fixtureLines()[4], newerLine("01M7W6C38062A1JZX10PRM4CPY")].join("\n") + "\n");
    const clock = { now: () => T0 + 20 * 86_400_000, setTimer: () => ({}), clearTimer: () => undefined };
    const store = new FileRunStore({ dir, clock, warn: () => undefined });
    await store.open();
    assert.ok(!fs.existsSync(file));
    await store.close();
  });
});

describe("step-row layout", function () {
  const tableColumns = STEP_COLUMNS.filter((c) => c.kind === "count" || c.kind === "time");

  it("derives the step table's columns and STEP_FIELDS from STEP_COLUMNS", function () {
    assert.deepEqual(
      STEP_FIELDS,
      STEP_COLUMNS.map((c) => c.field),
    );
    const named = {
      IN: "messagesIn",
      OUT: "messagesOut",
      RECORDS_IN: "recordsIn",
      RECORDS_OUT: "recordsOut",
      ERRORS: "errors",
      TIME: "timeMs",
      FIRST: "firstAt",
      LAST: "lastAt",
    };
    for (const [constant, field] of Object.entries(named))
      assert.equal(steps[constant], tableColumns.map((c) => c.field).indexOf(field), constant);
    const bookkeeping = [steps.BUSY, steps.ACTIVE, steps.SINCE, steps.PENDING];
    assert.deepEqual(
      bookkeeping,
      [0, 1, 2, 3].map((i) => tableColumns.length + i),
    );
    assert.equal(steps.WIDTH, tableColumns.length + bookkeeping.length);
  });

  it("starts a node's row blank as STEP_COLUMNS says: counts 0, times not yet seen (-1)", function () {
    const table = new StepTable(T0);
    table.row({ id: "a" });
    const o = table.row({ id: "b" });
    const blank = [...tableColumns.map((c) => (c.kind === "time" ? -1 : 0)), 0, 0, 0, 0];
    assert.deepEqual(table.v.slice(o, o + steps.WIDTH), blank);
    assert.equal(table.v.length, 2 * steps.WIDTH);
  });

  it("writes rows (the hand-unrolled writer) as rowsOf writes them from STEP_COLUMNS, and reads them back", function () {
    const table = new StepTable(T0);
    const nodes = [
      { id: "a", type: "function", name: "Größe ✓" },
      { id: "b", type: "pw-connection" },
      { id: "c", type: "catch" },
    ];
    // A different number in every column, so a column written or read in the wrong place shows.
    nodes.forEach((node, n) => {
      const o = table.row(node);
      tableColumns.forEach((c, i) => (table.v[o + i] = 100 * (n + 1) + i));
    });
    const c = table.row(nodes[2]);
    table.v[c + steps.FIRST] = -1; // only sent: written as the run's start
    table.v[c + steps.LAST] = -1;
    table.v[c + steps.BUSY] = 7; // bookkeeping is never written
    Object.assign(table.extra(table.row(nodes[1])), {
      untracked: 2,
      requests: [
        { method: "GET", url: "https://x.example/", status: 200, attempts: 1, durationMs: 3, at: T0 },
      ],
      requestsDropped: 4,
      snapshots: 1,
    });
    table.extra(table.row(nodes[0])).snapshots = 3;
    const live = table.toSteps();
    const rows = table.rows();
    assert.equal(rows, rowsOf(live, T0));
    assert.deepEqual(stepsFromRows(JSON.parse(`[${rows}]`), T0), live);
    assert.deepEqual(live.a, {
      node: "a",
      type: "function",
      name: "Größe ✓",
      messagesIn: 100,
      messagesOut: 101,
      recordsIn: 102,
      recordsOut: 103,
      errors: 104,
      timeMs: 105,
      firstAt: T0 + 106,
      lastAt: T0 + 107,
      snapshots: 3,
    });
    assert.equal(live.c.firstAt, T0);
    assert.ok(!rows.includes(",7"), "no bookkeeping column in a row");
  });
});
