// The map workload in a process of its own: 100,000 order-like records to a HubSpot-like
// contact/deal shape, by our map shape, by split → change (JSONata) → join, or by a plain loop
// in a function node. Prints one JSON line with the median time and the process's peak memory.
//   node --expose-gc bench/map.js ours|core|loop [records] [rounds]
const { startRuntime } = require("../test/support/runtime");

const kind = process.argv[2];
const RECORDS = Number(process.argv[3] || 100000);
const ROUNDS = Number(process.argv[4] || 3);

function orders(n) {
  return Array.from({ length: n }, (_, i) => ({
    id: i,
    created_at: new Date(Date.UTC(2026, 0, 1) + i * 60000).toISOString(),
    customer: { first_name: `First${i}`, last_name: `Last${i}`, email: `customer${i}@example.com` },
    line_items: [1, 2, 3].map((k) => ({ sku: `SKU-${i}-${k}`, qty: k, price: `${k * 10}.50` })),
    total_price: `${(i % 1000) + 0.5}`,
    tags: "vip, wholesale, eu",
  }));
}

const SINK =
  "const d = global.get('done'); d.count += msg.payload.length; if (d.count >= d.total) d.resolve(msg.payload); return null;";
const flows = {
  ours: [
    {
      id: "entry",
      type: "pw-map",
      z: "b",
      wires: [["sink"]],
      rules: [
        { source: "customer.email", target: "email" },
        { source: "customer.first_name", target: "firstname" },
        { source: "customer.last_name", target: "lastname" },
        { source: "total_price", target: "amount", transforms: [{ type: "to_number" }] },
        {
          source: "created_at",
          target: "closedate",
          transforms: [{ type: "date_format", format: "epoch_ms" }],
        },
        { source: "line_items[*].sku", target: "skus", transforms: [{ type: "join", separator: ";" }] },
      ],
    },
  ],
  core: [
    {
      id: "entry",
      type: "split",
      z: "b",
      splt: "\\n",
      spltType: "str",
      arraySplt: 1,
      arraySpltType: "len",
      stream: false,
      addname: "",
      wires: [["change"]],
    },
    {
      id: "change",
      type: "change",
      z: "b",
      wires: [["join"]],
      rules: [
        {
          t: "set",
          p: "payload",
          pt: "msg",
          to: '{"email": payload.customer.email, "firstname": payload.customer.first_name, "lastname": payload.customer.last_name, "amount": $number(payload.total_price), "closedate": $toMillis(payload.created_at), "skus": $join(payload.line_items.sku, ";")}',
          tot: "jsonata",
        },
      ],
    },
    {
      id: "join",
      type: "join",
      z: "b",
      mode: "auto",
      build: "array",
      property: "payload",
      propertyType: "msg",
      key: "topic",
      joiner: "\\n",
      joinerType: "str",
      accumulate: false,
      timeout: "",
      count: "",
      reduceRight: false,
      wires: [["sink"]],
    },
  ],
  loop: [
    {
      id: "entry",
      type: "function",
      z: "b",
      outputs: 1,
      wires: [["sink"]],
      func: "msg.payload = msg.payload.map((r) => ({ email: r.customer.email, firstname: r.customer.first_name, lastname: r.customer.last_name, amount: Number(r.total_price), closedate: Date.parse(r.created_at), skus: r.line_items.map((l) => l.sku).join(';') })); return msg;",
    },
  ],
};

async function main() {
  const done = { count: 0, total: 0, resolve: null };
  const rt = await startRuntime({
    functionGlobalContext: { done },
    patchworks: { runs: { enabled: false } },
  });
  await rt.deploy([
    { id: "b", type: "tab", label: "bench" },
    ...flows[kind].map((n) => ({ ...n })),
    { id: "sink", type: "function", z: "b", func: SINK, outputs: 0, wires: [] },
  ]);
  const data = orders(RECORDS);
  const entry = rt.RED.nodes.getNode("entry");
  let sample;
  let last;
  async function once() {
    if (global.gc) global.gc();
    done.count = 0;
    done.total = RECORDS;
    const finished = new Promise((resolve) => (done.resolve = resolve));
    const start = process.hrtime.bigint();
    entry.receive({ payload: data });
    last = await finished;
    sample = last[1];
    return Number(process.hrtime.bigint() - start) / 1e6;
  }
  await once(); // warm-up
  const times = [];
  for (let i = 0; i < ROUNDS; i++) times.push(await once());
  times.sort((a, b) => a - b);
  const peakRssMB = Math.round(process.resourceUsage().maxRSS / 1024);
  // The output array's size: the heap grown by one copy of it (Node-RED keeps references
  // to the last message for a while, so dropping the original says nothing).
  global.gc?.();
  const before = process.memoryUsage().heapUsed;
  const kept = [structuredClone(last)];
  global.gc?.();
  const outputMB = Math.round((process.memoryUsage().heapUsed - before) / 1048576);
  kept.length = 0;
  console.log(
    JSON.stringify({
      kind,
      records: RECORDS,
      ms: times[Math.floor(times.length / 2)],
      peakRssMB,
      outputMB,
      sample,
    }),
  );
  await rt.stop();
  process.exit(0);
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
