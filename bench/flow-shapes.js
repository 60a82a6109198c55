// Route, filter and flow control on 100,000 records, each against the idiomatic Node-RED core
// chain and a plain JavaScript loop in a function node, in one runtime. Prints one JSON line.
//   node --expose-gc bench/flow-shapes.js [records] [rounds]
const { startRuntime } = require("../test/support/runtime");

const RECORDS = Number(process.argv[2] || 100000);
const ROUNDS = Number(process.argv[3] || 3);

function records(n) {
  const countries = ["GB", "US", "DE", "FR", "IE"];
  const channels = ["web", "pos", "app"];
  return Array.from({ length: n }, (_, i) => ({
    id: i,
    status: i % 3 === 0 ? "pending" : "paid",
    country: countries[i % 5],
    total: (i * 37) % 1000,
    channel: channels[i % 3],
    sku: `SKU-${i}`,
  }));
}

// Counts records reaching the sinks; a round ends when all expected have arrived.
const SINK =
  "const d = global.get('done'); d.count += Array.isArray(msg.payload) ? msg.payload.length : 1; d.messages++; if (d.count >= d.total) d.resolve(); return null;";
const sink = (id) => ({ id, type: "function", z: "b", func: SINK, outputs: 0, wires: [] });
const cond = (field, op, value, type = "string") => ({ field, op, type, value });

const ROUTES = [
  { label: "UK", conditions: { logic: "and", rules: [cond("country", "equals", "GB")] } },
  { label: "big", conditions: { logic: "and", rules: [cond("total", "gt", "500", "number")] } },
  { label: "web", conditions: { logic: "and", rules: [cond("channel", "equals", "web")] } },
];

const flows = [
  { id: "b", type: "tab", label: "bench" },
  // Route: ours, core (split → switch → sinks), plain loop.
  {
    id: "route-ours",
    type: "pw-route",
    z: "b",
    routes: ROUTES,
    otherwise: true,
    mode: "first",
    wires: [["s1"], ["s1"], ["s1"], ["s1"]],
  },
  {
    id: "route-core",
    type: "split",
    z: "b",
    splt: "\\n",
    spltType: "str",
    arraySplt: 1,
    arraySpltType: "len",
    stream: false,
    addname: "",
    wires: [["route-switch"]],
  },
  {
    id: "route-switch",
    type: "switch",
    z: "b",
    property: "payload",
    propertyType: "msg",
    checkall: "false",
    repair: false,
    outputs: 4,
    rules: [
      { t: "jsonata_exp", v: "payload.country = 'GB'", vt: "jsonata" },
      { t: "jsonata_exp", v: "payload.total > 500", vt: "jsonata" },
      { t: "jsonata_exp", v: "payload.channel = 'web'", vt: "jsonata" },
      { t: "else" },
    ],
    wires: [["s1"], ["s1"], ["s1"], ["s1"]],
  },
  {
    id: "route-loop",
    type: "function",
    z: "b",
    outputs: 4,
    wires: [["s1"], ["s1"], ["s1"], ["s1"]],
    func:
      "const outs = [[], [], [], []]; for (const r of msg.payload) { if (r.country === 'GB') outs[0].push(r); else if (Number(r.total) > 500) outs[1].push(r); else if (r.channel === 'web') outs[2].push(r); else outs[3].push(r); }\n" +
      "for (let i = 0; i < 4; i++) { const out = [null, null, null, null]; out[i] = { ...msg, payload: outs[i] }; node.send(out, false); } return null;",
  },
  // Filter.
  {
    id: "filter-ours",
    type: "pw-filter",
    z: "b",
    conditions: { logic: "and", rules: [cond("status", "equals", "paid")] },
    keep: "matching",
    removedOutput: true,
    outputs: 2,
    wires: [["s1"], ["s1"]],
  },
  {
    id: "filter-core",
    type: "split",
    z: "b",
    splt: "\\n",
    spltType: "str",
    arraySplt: 1,
    arraySpltType: "len",
    stream: false,
    addname: "",
    wires: [["filter-switch"]],
  },
  {
    id: "filter-switch",
    type: "switch",
    z: "b",
    property: "payload.status",
    propertyType: "msg",
    checkall: "false",
    repair: false,
    outputs: 2,
    rules: [{ t: "eq", v: "paid", vt: "str" }, { t: "else" }],
    wires: [["s1"], ["s1"]],
  },
  {
    id: "filter-loop",
    type: "function",
    z: "b",
    outputs: 2,
    wires: [["s1"], ["s1"]],
    func: "const kept = [], removed = []; for (const r of msg.payload) (r.status === 'paid' ? kept : removed).push(r); node.send([{ ...msg, payload: kept }, null], false); node.send([null, { ...msg, payload: removed }], false); return null;",
  },
  // Flow control: batches of 100.
  { id: "batch-ours", type: "pw-flow-control", z: "b", level: "", size: 100, wires: [["s1"]] },
  {
    id: "batch-core",
    type: "split",
    z: "b",
    splt: "\\n",
    spltType: "str",
    arraySplt: 100,
    arraySpltType: "len",
    stream: false,
    addname: "",
    wires: [["s1"]],
  },
  {
    id: "batch-loop",
    type: "function",
    z: "b",
    outputs: 1,
    wires: [["s1"]],
    func: "const p = msg.payload; const count = Math.ceil(p.length / 100); for (let i = 0; i < count; i++) node.send({ ...msg, payload: p.slice(i * 100, i * 100 + 100) }, false); return null;",
  },
  sink("s1"),
];

async function main() {
  const done = { count: 0, total: 0, messages: 0, resolve: null };
  const rt = await startRuntime({
    functionGlobalContext: { done },
    patchworks: { runs: { enabled: false } },
  });
  await rt.deploy(flows);
  const data = records(RECORDS);

  async function once(entry) {
    if (global.gc) global.gc();
    done.count = 0;
    done.messages = 0;
    done.total = RECORDS;
    const finished = new Promise((resolve) => (done.resolve = resolve));
    const node = rt.RED.nodes.getNode(entry);
    const start = process.hrtime.bigint();
    node.receive({ payload: data });
    await finished;
    return Number(process.hrtime.bigint() - start) / 1e6;
  }

  const out = {};
  for (const shape of ["route", "filter", "batch"]) {
    const times = { ours: [], core: [], loop: [] };
    await once(`${shape}-ours`); // warm-up
    await once(`${shape}-loop`);
    for (let r = 0; r < ROUNDS; r++) {
      for (const kind of ["ours", "core", "loop"]) times[kind].push(await once(`${shape}-${kind}`));
    }
    const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
    out[shape] = { ours: median(times.ours), core: median(times.core), loop: median(times.loop) };
  }
  console.log(JSON.stringify({ records: RECORDS, rounds: ROUNDS, ms: out }));
  await rt.stop();
  process.exit(0);
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
