// One measurement in a process of its own: N messages, each a run, through a trigger and
// ten nodes, with run tracking on or off. Prints one JSON line.
//   node bench/tracking.js on|off|noop [messages] [window] [chain|orders|one-run]
// window 0 sends every message at once (a burst: all runs live together); window W keeps W
// runs in flight, starting the next as one ends (a steady load, as a busy server sees).
// chain: nine core change nodes setting a constant and a function node, each a few
// microseconds: the cheapest flow there is, so tracking's worst case. orders: a process flow
// as this package builds them, one Shopify-like order per run (a webhook's), through filter,
// map, set variables, route, change, function, template, JSON, change and a function.
// one-run: a single run whose first node sends all the messages (a pull split into records)
// through eight change nodes and a function: what tracking costs per message, not per run.
const { startRuntime } = require("../test/support/runtime");

async function main() {
  const mode = process.argv[2];
  const messages = Number(process.argv[3] || 10000);
  const windowSize = Number(process.argv[4] || 0);
  const flow = process.argv[5] || "chain";
  const done = { count: 0, resolve: null, next: null };
  const rt = await startRuntime({
    functionGlobalContext: { done },
    // Every run may start at once: this measures tracking, not the queue.
    patchworks: { runs: { enabled: mode === "on", maxConcurrent: 1e9, maxQueued: 1e9 } },
  });
  const end = {
    id: "end",
    type: "function",
    z: "b",
    func: "const d = global.get('done'); if (++d.count === d.total) d.resolve(); else if (d.next) d.next(); return null;",
    outputs: 0,
    wires: [],
  };
  const nodes = flow === "orders" ? ordersFlow(end) : flow === "one-run" ? oneRunFlow(end) : chainFlow(end);
  await rt.deploy([
    { id: "b", type: "tab", label: "bench" },
    {
      id: "trig",
      type: "pw-trigger",
      z: "b",
      name: "bench",
      schedules: [],
      concurrency: 0,
      wires: [[nodes[0].id]],
    },
    ...nodes,
  ]);
  if (mode === "noop") {
    // The cost of Node-RED's hook machinery alone: the same three hooks, doing nothing.
    for (const h of ["onSend", "onReceive", "onComplete"]) rt.RED.hooks.add(`${h}.bench`, (_event) => {});
  }
  const trigger = rt.RED.nodes.getNode("trig");
  async function round(n) {
    done.count = 0;
    done.total = n;
    const finished = new Promise((resolve) => (done.resolve = resolve));
    const start = process.hrtime.bigint();
    let sent = 0;
    const send = () =>
      trigger.receive({
        payload: flow === "orders" ? order(sent++) : { id: sent, sku: `SKU-${sent}`, qty: sent++ % 5 },
      });
    done.next = windowSize > 0 ? () => sent < n && send() : null;
    if (flow === "one-run") trigger.receive({ payload: { count: n } });
    else while (sent < (windowSize > 0 ? Math.min(windowSize, n) : n)) send();
    await finished;
    return Number(process.hrtime.bigint() - start) / 1e6;
  }
  await round(2000); // warm-up
  const times = [];
  // The quickest of several rounds: other work on the machine only ever adds time, so the
  // minimum is the steadiest estimate of what the flow itself costs.
  const rounds = Number(process.env.BENCH_INNER_ROUNDS || 5);
  for (let i = 0; i < rounds; i++) times.push(await round(messages));
  times.sort((a, b) => a - b);
  const heap = process.memoryUsage().heapUsed;
  // What stays once garbage is gone: the run store's index, for one.
  if (global.gc) global.gc();
  if (process.env.HEAPSNAP) require("v8").writeHeapSnapshot(process.env.HEAPSNAP);
  const retained = process.memoryUsage().heapUsed;
  console.log(
    JSON.stringify({
      mode,
      flow,
      messages,
      window: windowSize,
      nodes: 10,
      ms: times[0],
      medianMs: times[Math.floor(times.length / 2)],
      heapMB: Math.round(heap / 1048576),
      retainedMB: Math.round(retained / 1048576),
    }),
  );
  await rt.stop();
  process.exit(0);
}
function chainFlow(end) {
  const chain = Array.from({ length: 9 }, (_, i) => ({
    id: `c${i}`,
    type: "change",
    z: "b",
    rules: [{ t: "set", p: `step${i}`, pt: "msg", to: String(i), tot: "num" }],
    wires: [[i < 8 ? `c${i + 1}` : "end"]],
  }));
  return [...chain, end];
}

/** One run whose first node sends every message (a pull split into records, say), then eight change nodes. */
function oneRunFlow(end) {
  const fan = {
    id: "fan",
    type: "function",
    z: "b",
    outputs: 1,
    wires: [["c0"]],
    func: "for (let i = 0; i < msg.payload.count; i++) node.send({ payload: { id: i, sku: `SKU-${i}`, qty: i % 5 }, pw: msg.pw });\nreturn null;",
  };
  const chain = Array.from({ length: 8 }, (_, i) => ({
    id: `c${i}`,
    type: "change",
    z: "b",
    rules: [{ t: "set", p: `step${i}`, pt: "msg", to: String(i), tot: "num" }],
    wires: [[i < 7 ? `c${i + 1}` : "end"]],
  }));
  return [fan, ...chain, end];
}

function ordersFlow(end) {
  const rule = (field, op, value, type = "string") => ({ field, op, type, value });
  return [
    {
      id: "paid",
      type: "pw-filter",
      z: "b",
      conditions: { logic: "and", rules: [rule("financial_status", "equals", "paid")] },
      keep: "matching",
      wires: [["contact"]],
    },
    {
      id: "contact",
      type: "pw-map",
      z: "b",
      wires: [["vars"]],
      rules: [
        { source: "id", target: "order_id" },
        { source: "customer.email", target: "email" },
        { source: "customer.first_name", target: "firstname" },
        { source: "customer.last_name", target: "lastname" },
        { source: "shipping_address.country_code", target: "country" },
        { source: "currency", target: "currency" },
        { source: "total_price", target: "amount", transforms: [{ type: "to_number" }] },
        {
          source: "created_at",
          target: "closedate",
          transforms: [{ type: "date_format", format: "epoch_ms" }],
        },
        { source: "line_items[*].sku", target: "skus", transforms: [{ type: "join", separator: ";" }] },
      ],
    },
    {
      id: "vars",
      type: "pw-set-variables",
      z: "b",
      rules: [{ target: "meta", key: "order", valueType: "template", value: "{{payload.order_id}}" }],
      wires: [["where"]],
    },
    {
      id: "where",
      type: "pw-route",
      z: "b",
      mode: "first",
      otherwise: true,
      wires: [["source"], ["source"]],
      routes: [{ label: "UK", conditions: { logic: "and", rules: [rule("country", "equals", "GB")] } }],
    },
    {
      id: "source",
      type: "change",
      z: "b",
      rules: [{ t: "set", p: "payload.source", pt: "msg", to: "shopify", tot: "str" }],
      wires: [["cents"]],
    },
    {
      id: "cents",
      type: "function",
      z: "b",
      func: "msg.payload.amount_cents = Math.round(msg.payload.amount * 100);\nreturn msg;",
      outputs: 1,
      wires: [["note"]],
    },
    {
      id: "note",
      type: "template",
      z: "b",
      field: "note",
      fieldType: "msg",
      format: "handlebars",
      syntax: "mustache",
      template:
        "Order {{payload.order_id}} for {{payload.firstname}} {{payload.lastname}}: {{payload.amount}} {{payload.currency}}",
      output: "str",
      wires: [["body"]],
    },
    {
      id: "body",
      type: "json",
      z: "b",
      property: "payload",
      action: "str",
      pretty: false,
      wires: [["headers"]],
    },
    {
      id: "headers",
      type: "change",
      z: "b",
      rules: [{ t: "set", p: "headers", pt: "msg", to: '{"content-type":"application/json"}', tot: "json" }],
      wires: [["end"]],
    },
    end,
  ];
}

/** One order as Shopify's orders/create webhook sends it (the fields a flow reads, and some it does not). */
function order(i) {
  return {
    id: 5000000000 + i,
    name: `#${1000 + i}`,
    email: `customer${i}@example.com`,
    created_at: new Date(Date.UTC(2026, 0, 1) + i * 60000).toISOString(),
    currency: "GBP",
    financial_status: "paid",
    fulfillment_status: null,
    total_price: `${(i % 500) + 19.99}`,
    subtotal_price: `${(i % 500) + 15.99}`,
    total_tax: "4.00",
    tags: "vip, wholesale",
    note: null,
    customer: {
      id: 7000000 + i,
      email: `customer${i}@example.com`,
      first_name: `First${i}`,
      last_name: `Last${i}`,
      phone: "+447700900123",
      accepts_marketing: i % 2 === 0,
    },
    shipping_address: {
      first_name: `First${i}`,
      last_name: `Last${i}`,
      address1: `${i} High Street`,
      city: "London",
      zip: "N1 9GU",
      country: i % 3 ? "United Kingdom" : "Ireland",
      country_code: i % 3 ? "GB" : "IE",
    },
    line_items: [1, 2, 3].map((k) => ({
      id: 9000000 + i * 10 + k,
      sku: `SKU-${i}-${k}`,
      title: `Product ${k}`,
      quantity: k,
      price: `${k * 10}.50`,
      grams: 250 * k,
      vendor: "Acme",
      requires_shipping: true,
    })),
  };
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
