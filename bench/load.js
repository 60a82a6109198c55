// The load for the intake bench, in a process of its own: posts N small JSON webhooks to a
// URL over keep-alive connections, P at a time, and prints one JSON line: answers by status,
// acknowledgement latency percentiles, the run ids answered 2xx (when the reply carries them).
// A webhook refused with 429 is sent again after BENCH_RETRY_MS (default 100 ms), as Shopify
// and HubSpot retry (after longer waits); each refusal is counted. With BENCH_RETRY_CAP_MS set,
// the wait is the answer's Retry-After instead, capped at that many ms (so a soak ends).
//   node bench/load.js <url> [requests] [parallel]
const http = require("http");

const url = new URL(process.argv[2]);
const total = Number(process.argv[3] || 10000);
const parallel = Number(process.argv[4] || 50);
const retryMs = Number(process.env.BENCH_RETRY_MS || 100);
const retryCapMs = process.env.BENCH_RETRY_CAP_MS ? Number(process.env.BENCH_RETRY_CAP_MS) : undefined;
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
          resolve({
            status: res.statusCode,
            ms: Number(process.hrtime.bigint() - start) / 1e6,
            text,
            retryAfter: res.headers["retry-after"],
          }),
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
  const retryAfter = {};
  let retried = 0;
  let next = 0;
  /** Retry-After in ms (seconds or an HTTP date), capped; BENCH_RETRY_MS without the cap or the header. */
  const waitFor = (r) => {
    if (retryCapMs === undefined || r.retryAfter === undefined) return retryMs;
    retryAfter[r.retryAfter] = (retryAfter[r.retryAfter] ?? 0) + 1;
    const s = Number(r.retryAfter);
    const ms = Number.isFinite(s) ? s * 1000 : Date.parse(r.retryAfter) - Date.now();
    return Math.max(0, Math.min(retryCapMs, Number.isFinite(ms) ? ms : retryMs));
  };
  const worker = async () => {
    while (next < total) {
      const n = next++;
      let r = await post(n);
      statuses[r.status] = (statuses[r.status] ?? 0) + 1;
      while (r.status === 429) {
        await new Promise((resolve) => setTimeout(resolve, waitFor(r)));
        retried++;
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
  console.log(
    JSON.stringify({ startedAt, endedAt, statuses, retried, retryAfter, p50: pct(0.5), p99: pct(0.99), ids }),
  );
}

main();
