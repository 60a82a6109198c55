// The load for the intake bench, in a process of its own: posts N small JSON webhooks to a
// URL over keep-alive connections, P at a time, and prints one JSON line: answers by status,
// acknowledgement latency percentiles, the run ids answered 2xx (when the reply carries them).
// A webhook refused with 429 is sent again after BENCH_RETRY_MS (default 100 ms), as Shopify
// and HubSpot retry (after longer waits); each refusal is counted.
//   node bench/load.js <url> [requests] [parallel]
const http = require("http");

const url = new URL(process.argv[2]);
const total = Number(process.argv[3] || 10000);
const parallel = Number(process.argv[4] || 50);
const retryMs = Number(process.env.BENCH_RETRY_MS || 100);
const agent = new http.Agent({ keepAlive: true, maxSockets: parallel });

function post(n) {
  const body = JSON.stringify({
    id: n,
    email: `buyer${n}@example.com`,
    total_price: "42.50",
    currency: "GBP",
  });
  return new Promise((resolve) => {
    const start = process.hrtime.bigint();
    const req = http.request(
      url,
      {
        method: "POST",
        agent,
        headers: { "content-type": "application/json", "content-length": Buffer.byteLength(body) },
      },
      (res) => {
        let text = "";
        res.setEncoding("utf8");
        res.on("data", (d) => (text += d));
        res.on("end", () =>
          resolve({ status: res.statusCode, ms: Number(process.hrtime.bigint() - start) / 1e6, text }),
        );
      },
    );
    req.on("error", () =>
      resolve({ status: 0, ms: Number(process.hrtime.bigint() - start) / 1e6, text: "" }),
    );
    req.end(body);
  });
}

async function main() {
  const startedAt = Date.now();
  const latencies = [];
  const statuses = {};
  const ids = [];
  let next = 0;
  const worker = async () => {
    while (next < total) {
      const n = next++;
      let r = await post(n);
      statuses[r.status] = (statuses[r.status] ?? 0) + 1;
      while (r.status === 429) {
        await new Promise((resolve) => setTimeout(resolve, retryMs));
        r = await post(n);
        statuses[r.status] = (statuses[r.status] ?? 0) + 1;
      }
      if (r.status >= 200 && r.status < 300) {
        latencies.push(r.ms);
        const id = /"run":"([^"]+)"/.exec(r.text)?.[1];
        if (id) ids.push(id);
      }
    }
  };
  await Promise.all(Array.from({ length: parallel }, worker));
  const endedAt = Date.now();
  latencies.sort((a, b) => a - b);
  const pct = (p) =>
    Math.round((latencies[Math.min(latencies.length - 1, Math.floor(latencies.length * p))] ?? 0) * 10) / 10;
  agent.destroy();
  console.log(JSON.stringify({ startedAt, endedAt, statuses, p50: pct(0.5), p99: pct(0.99), ids }));
}

main();
