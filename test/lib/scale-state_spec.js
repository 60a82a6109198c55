// The scale-out mode's shared state against a real redis-server of the test's own: several
// Redis connections stand for several workers. Rate-limit buckets that all workers draw from,
// de-dupe check-and-set that lets a key through once across workers, one OAuth refresh for all,
// and the Redis context store (surviving a Redis restart).
const assert = require("node:assert/strict");
const path = require("node:path");
const { execFileSync } = require("node:child_process");
const { lib, root } = require("../support/dist");
const { startRedis } = require("../support/redis");
const { waitUntil } = require("../support/wait");

const { connectRedis } = lib("scale/redis");
const { readRedisTarget } = lib("scale/settings");
const { RedisRateLimiter } = lib("scale/rate-limit-redis");
const { RedisPoolStore } = lib("scale/dedupe-redis");
const { RedisTokenStore } = lib("scale/token-store-redis");
const { RedisLock } = lib("scale/lock");
const { RedisCostBucket } = lib("scale/cost-limit-redis");
const redisContextStore = lib("scale/context-redis");
const { createAuthenticator } = lib("connectors/auth");
const { RateLimitAborted } = lib("http/rate-limit");
const { sendRequest } = lib("http/request");
const { startServer } = require("../support/http-server");

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

describe("scale-out shared state (Redis)", function () {
  this.timeout(60000);
  let redis;
  const conns = [];
  /** A connection as a worker has its own. */
  const worker = (name) => {
    const c = connectRedis(readRedisTarget(redis.url), name);
    c.on("error", () => undefined);
    conns.push(c);
    return c;
  };
  let n = 0;
  const prefix = () => `t${++n}`;

  before(async () => (redis = await startRedis({ persist: true })));
  after(async () => {
    for (const c of conns) c.disconnect();
    await redis.close();
  });

  describe("rate-limit buckets", function () {
    it("keeps three workers together within the instance's limit over the whole window", async function () {
      const limits = [{ requests: 10, period: "second", burst: 5 }];
      const p = prefix();
      const limiters = [1, 2, 3].map((i) => new RedisRateLimiter(worker(`rl${i}`), p, "shopify-1", limits));
      const granted = [];
      const started = Date.now();
      // 15 requests on each worker at once: 45 in all, 5 at once and then 10 a second.
      await Promise.all(
        limiters.flatMap((l) =>
          Array.from({ length: 15 }, () => l.acquire().then(() => granted.push(Date.now()))),
        ),
      );
      const took = Date.now() - started;
      assert.equal(granted.length, 45);
      assert.ok(took >= 3800, `45 requests at 10/s after a burst of 5 take 4 s, took ${took} ms`);
      granted.sort((a, b) => a - b);
      // In any window of t ms, at most burst + 10 * t / 1000 requests (and a little for timer skew).
      for (let i = 0; i < granted.length; i++)
        for (let j = i; j < granted.length; j++) {
          const allowed = 5 + (10 * (granted[j] - granted[i])) / 1000 + 1;
          assert.ok(j - i + 1 <= allowed, `${j - i + 1} requests in ${granted[j] - granted[i]} ms`);
        }
    });

    it("honours every limit of the instance at once (per second and per minute)", async function () {
      const p = prefix();
      const limits = [
        { requests: 100, period: "second" },
        { requests: 6, period: "minute" },
      ];
      const a = new RedisRateLimiter(worker("m1"), p, "inst", limits);
      const b = new RedisRateLimiter(worker("m2"), p, "inst", limits);
      for (let i = 0; i < 3; i++) {
        await a.acquire();
        await b.acquire();
      }
      const stop = new AbortController();
      const seventh = b.acquire(stop.signal);
      await sleep(300);
      stop.abort();
      await assert.rejects(seventh, RateLimitAborted);
    });

    it("makes every worker hold off for a Retry-After that one of them was told", async function () {
      const p = prefix();
      const limits = [{ requests: 100, period: "second" }];
      const a = new RedisRateLimiter(worker("p1"), p, "inst", limits);
      const b = new RedisRateLimiter(worker("p2"), p, "inst", limits);
      await b.acquire();
      a.pause(600);
      await sleep(20);
      const t0 = Date.now();
      await b.acquire();
      assert.ok(Date.now() - t0 >= 500, `worker b waited ${Date.now() - t0} ms`);
    });

    it("shares a 429's Retry-After that a request was answered with: another worker waits it out too", async function () {
      const p = prefix();
      const limits = [{ requests: 100, period: "second" }];
      const a = new RedisRateLimiter(worker("ra1"), p, "inst", limits);
      const b = new RedisRateLimiter(worker("ra2"), p, "inst", limits);
      let told;
      const told429 = new Promise((r) => (told = r));
      const server = await startServer((req, log) => {
        if (log.length === 1) {
          setTimeout(told, 50);
          return { status: 429, headers: { "retry-after": "1" }, body: { errors: "slow down" } };
        }
        return { status: 200, body: { ok: true } };
      });
      try {
        const first = sendRequest({ method: "GET", url: `${server.base}/orders` }, { limiter: a });
        await told429;
        const probe = worker("ra-probe");
        const left = await waitUntil(async () => {
          const ms = await probe.pttl(`${p}:rl:{inst}:pause`);
          return ms > 0 && ms;
        }, "the pause to reach Redis");
        assert.ok(left > 500 && left <= 1000, `the pause is the 1 s Retry-After (${left} ms left)`);
        const t0 = Date.now();
        await b.acquire();
        const waited = Date.now() - t0;
        assert.ok(waited >= left - 100, `worker b waited ${waited} ms of the ${left} ms left`);
        assert.equal((await first).status, 200);
      } finally {
        await server.close();
      }
    });
  });

  describe("cost buckets (GraphQL points)", function () {
    it("lets two workers reserve only what the bucket holds together, from the last reading either got", async function () {
      const p = prefix();
      const a = new RedisCostBucket(worker("cb1"), p, "shop");
      const b = new RedisCostBucket(worker("cb2"), p, "shop");
      // Before any reading there is nothing to go by: requests go.
      (await a.acquire(10))();
      // Worker a reads 100 points left of 1000, restoring 50 a second.
      a.update({ available: 100, maximum: 1000, restoreRate: 50, throttled: false });
      await sleep(20);
      const releaseA = await a.acquire(80);
      const t0 = Date.now();
      // 80 reserved by a, ~100 in the bucket: b's 80 waits for about 60 points (1.2 s).
      const releaseB = await b.acquire(80);
      const waited = Date.now() - t0;
      assert.ok(waited >= 1000, `worker b waited ${waited} ms`);
      releaseA();
      releaseB();
      const stop = new AbortController();
      b.update({ available: 0, maximum: 1000, restoreRate: 1, throttled: false });
      await sleep(20);
      const waiting = a.acquire(500, stop.signal);
      stop.abort();
      await assert.rejects(waiting, /stopped/);
    });
  });

  describe("de-dupe pools", function () {
    it("lets each key through exactly once when five workers check the same keys at once", async function () {
      const p = prefix();
      const stores = [1, 2, 3, 4, 5].map((i) => new RedisPoolStore(worker(`dd${i}`), p));
      const keys = Array.from({ length: 200 }, (_, i) => `order-${i}`);
      const results = await Promise.all(
        stores.flatMap((s) =>
          [0, 1].map(async () =>
            (await s.pool("orders")).checkAndSet("orders", keys, "filter-and-track", 3600),
          ),
        ),
      );
      for (let k = 0; k < keys.length; k++) {
        const passes = results.filter((r) => r.passed[k]).length;
        assert.equal(passes, 1, `${keys[k]} passed ${passes} times`);
      }
      assert.equal(
        results.reduce((sum, r) => sum + r.tracked, 0),
        keys.length,
      );
    });

    it("filters without tracking, tracks everything in track mode, skips records without a key, and forgets expired keys", async function () {
      const store = new RedisPoolStore(worker("dd-modes"), prefix());
      const pool = await store.pool("customers");
      let r = await pool.checkAndSet("", ["a", "b", undefined], "filter", 1);
      assert.deepEqual(r, { passed: [true, true, false], tracked: 0 });
      r = await pool.checkAndSet("", ["a"], "track", 1);
      assert.deepEqual(r, { passed: [true], tracked: 1 });
      r = await pool.checkAndSet("", ["a", "b", "b"], "filter-and-track", 1);
      assert.deepEqual(r, { passed: [false, true, false], tracked: 1 });
      // Another entity of the same pool is another set of keys.
      r = await pool.checkAndSet("refunds", ["a"], "filter", 1);
      assert.deepEqual(r.passed, [true]);
      await sleep(1100);
      r = await pool.checkAndSet("", ["a", "b"], "filter", 1);
      assert.deepEqual(r.passed, [true, true]);
    });

    it("checks a payload larger than one script call in slices, a key repeated across slices passing once", async function () {
      const pool = await new RedisPoolStore(worker("dd-big"), prefix()).pool("big");
      const keys = Array.from({ length: 4500 }, (_, i) => String(i % 4000));
      const r = await pool.checkAndSet("", keys, "filter-and-track", 60);
      assert.equal(r.tracked, 4000);
      assert.equal(r.passed.filter(Boolean).length, 4000);
      assert.deepEqual(r.passed.slice(4000), new Array(500).fill(false));
    });

    it("lists, inspects, adds to and clears a pool as the admin routes do", async function () {
      const store = new RedisPoolStore(worker("dd-admin"), prefix());
      assert.equal(await store.existing("p1"), undefined);
      const pool = await store.pool("p1");
      assert.equal(await pool.add("orders", ["1", "2", "3"], 3600), 3);
      assert.equal(await pool.add("orders", ["3", "4"], 3600), 1);
      assert.equal(await pool.add("", ["x"], 3600), 1);
      const info = await pool.info();
      assert.equal(info.keys, 5);
      assert.deepEqual(info.entities, { orders: 4, "": 1 });
      const entries = [];
      for await (const e of pool.entries("orders")) entries.push(e.key);
      assert.deepEqual(entries.sort(), ["1", "2", "3", "4"]);
      assert.deepEqual(await store.names(), ["p1"]);
      assert.ok(await store.existing("p1"));
      await pool.clear();
      assert.equal((await pool.info()).keys, 0);
    });

    it("names a pool in Redis once per worker, not with every message's check", async function () {
      const conn = worker("dd-once");
      const store = new RedisPoolStore(conn, prefix());
      const sadds = async () =>
        Number(/cmdstat_sadd:calls=(\d+)/.exec(await conn.info("commandstats"))?.[1] ?? 0);
      const before = await sadds();
      for (let i = 0; i < 5; i++)
        await (await store.pool("per-message")).checkAndSet("", [`k${i}`], "filter-and-track", 60);
      assert.equal((await sadds()) - before, 1);
      assert.deepEqual(await store.names(), ["per-message"]);
    });
  });

  describe("OAuth tokens", function () {
    const method = {
      type: "oauth2_code",
      authorizeUrl: "https://id.example/authorize",
      tokenUrl: "https://id.example/token",
      clientId: "client",
      clientSecret: "client-secret",
    };

    it("refreshes once when eight workers find the token expired at the same moment, and all use the new one", async function () {
      const p = prefix();
      const calls = [];
      const send = async (request) => {
        calls.push(request.body.refresh_token);
        await sleep(300);
        return {
          status: 200,
          headers: {},
          url: request.url,
          data: { access_token: "access-2", refresh_token: "refresh-2", expires_in: 3600 },
        };
      };
      const stores = Array.from(
        { length: 8 },
        (_, i) => new RedisTokenStore(worker(`tok${i}`), p, "credential-secret", { pollMs: 20 }),
      );
      await stores[0].set("inst", {
        accessToken: "access-1",
        refreshToken: "refresh-1",
        expiresAt: Date.now() - 1000,
      });
      const auths = stores.map((s) =>
        createAuthenticator(method, {
          render: (t) => t,
          vars: {},
          baseUrl: "https://api.example",
          tokens: s.forInstance("inst"),
          send,
        }),
      );
      const prepared = await Promise.all(
        auths.map((a) => a.prepare({ method: "GET", url: "https://api.example/x" })),
      );
      assert.deepEqual(calls, ["refresh-1"], "one refresh, with the saved refresh token");
      for (const r of prepared) assert.equal(r.headers.Authorization, "Bearer access-2");
      // Kept encrypted: the stored value does not show the token.
      const raw = await worker("tok-raw").get(`${p}:tok:{inst}`);
      assert.ok(raw && !raw.includes("access-2") && !raw.includes("refresh-2"));
      // A worker with another credential secret cannot read it.
      const warnings = [];
      const other = new RedisTokenStore(worker("tok-other"), p, "another-secret", {
        warn: (m) => warnings.push(m),
      });
      assert.equal(await other.load("inst"), undefined);
      assert.match(warnings[0], /cannot be read/);
    });

    it("takes over the refresh when the worker holding the lock fails", async function () {
      const p = prefix();
      let calls = 0;
      const a = new RedisTokenStore(worker("tf1"), p, "s", { pollMs: 20 });
      const b = new RedisTokenStore(worker("tf2"), p, "s", { pollMs: 20 });
      await a.set("inst", { accessToken: "old", refreshToken: "r", expiresAt: 1 });
      const stale = (t) => t.expiresAt !== undefined && Date.now() >= t.expiresAt;
      const failing = a.refreshOnce("inst", stale, async () => {
        calls++;
        await sleep(100);
        throw new Error("token endpoint down");
      });
      await sleep(20);
      const taking = b.refreshOnce("inst", stale, async () => {
        calls++;
        return { accessToken: "new", refreshToken: "r2", expiresAt: Date.now() + 3600_000 };
      });
      await assert.rejects(failing, /token endpoint down/);
      assert.equal((await taking).accessToken, "new");
      assert.equal(calls, 2);
    });
  });

  describe("locks across workers", function () {
    it("lets one worker at a time through a read-change-write, so three workers lose no increment", async function () {
      const p = prefix();
      const counter = `${p}:counter`;
      const locks = [1, 2, 3].map((i) => ({
        lock: new RedisLock(worker(`lk${i}`), p),
        conn: worker(`lkc${i}`),
      }));
      await Promise.all(
        locks.flatMap(({ lock, conn }) =>
          Array.from({ length: 10 }, () =>
            lock.run("entry", async () => {
              const value = Number((await conn.get(counter)) ?? 0);
              await sleep(2);
              await conn.set(counter, String(value + 1));
            }),
          ),
        ),
      );
      assert.equal(await worker("lk-read").get(counter), "30");
    });
  });

  describe("context store", function () {
    let store;
    let ctxPrefix;
    const call = (fn, ...args) =>
      new Promise((resolve, reject) =>
        fn.call(store, ...args, (err, ...values) => (err ? reject(err) : resolve(values))),
      );

    before(async () => {
      ctxPrefix = prefix();
      store = redisContextStore({ redis: redis.url, prefix: ctxPrefix });
      await store.open();
    });
    after(() => store.close());

    it("gets, sets, lists and deletes variables of a scope, paths inside them included", async function () {
      await call(store.set, "flow1", "count", 3);
      await call(store.set, "flow1", "customer", { id: 7, tags: ["a"] });
      await call(store.set, "flow1", "customer.tags[1]", "b");
      await call(store.set, "flow1", "customer.address.city", "Leeds");
      assert.deepEqual(await call(store.get, "flow1", "count"), [3]);
      assert.deepEqual(
        await call(store.get, "flow1", ["customer.tags", "customer.address.city", "missing"]),
        [["a", "b"], "Leeds", undefined],
      );
      await call(store.set, "flow1", ["x", "y"], [1, 2]);
      const [keys] = await call(store.keys, "flow1");
      assert.deepEqual(keys.sort(), ["count", "customer", "x", "y"]);
      // undefined deletes, as in Node-RED's own stores.
      await call(store.set, "flow1", "count", undefined);
      await call(store.set, "flow1", "customer.id", undefined);
      assert.deepEqual(await call(store.get, "flow1", ["count", "customer"]), [
        undefined,
        { tags: ["a", "b"], address: { city: "Leeds" } },
      ]);
      await store.delete("flow1");
      assert.deepEqual(await call(store.keys, "flow1"), [[]]);
    });

    it("refuses a key that would write a prototype", async function () {
      await assert.rejects(call(store.set, "flow1", "a.__proto__.polluted", 1), /__proto__/);
      assert.equal({}.polluted, undefined);
      assert.throws(() => store.set("flow1", "constructor.prototype.x", 1), /constructor/);
    });

    it("answers reads without a callback from its copy, which other workers' writes reach", async function () {
      const other = redisContextStore({ redis: redis.url, prefix: ctxPrefix });
      await other.open();
      try {
        await call(store.set, "flowS", "greeting", "hello");
        await call(store.set, "flowS", "order", { id: 1, lines: [] });
        store.set("flowS", "order.lines[0]", "sku-1");
        assert.deepEqual(store.get("flowS", "order"), { id: 1, lines: ["sku-1"] }, "its own write, at once");
        await waitUntil(
          () => other.get("flowS", "greeting") === "hello",
          "the other worker to see the write",
        );
        await waitUntil(() => other.get("flowS", "order.lines[0]") === "sku-1", "the path written inside");
        assert.deepEqual(other.keys("flowS").sort(), ["greeting", "order"]);
        await store.delete("flowS");
        await waitUntil(
          () => other.get("flowS", "greeting") === undefined,
          "the other worker to see the delete",
        );
      } finally {
        await other.close();
      }
    });

    it("lands one worker's writes in the order they were made, a path write followed by a whole one included", async function () {
      const first = call(store.set, "flowO", "order.status", "picked");
      const second = call(store.set, "flowO", "order", "cancelled");
      await Promise.all([first, second]);
      assert.equal(store.get("flowO", "order"), "cancelled", "its copy");
      assert.deepEqual(await call(store.get, "flowO", "order"), ["cancelled"], "Redis");
    });

    it("survives a change on its channel that is not JSON, reading its copy again instead", async function () {
      await call(store.set, "flowJ", "v", 1);
      const pub = worker("ctx-bad");
      await pub.publish(
        `${ctxPrefix}:ctx:changes`,
        JSON.stringify({ o: "elsewhere", s: "flowJ", f: "v", v: "{not json" }),
      );
      await call(store.set, "flowJ", "v", 2);
      await waitUntil(() => store.get("flowJ", "v") === 2, "the store to go on");
    });

    it("keeps every scope through Node-RED's clean unless told to clean (another worker may run newer flows)", async function () {
      await call(store.set, "flowK", "v", 1);
      await store.clean([]);
      assert.deepEqual(await call(store.get, "flowK", "v"), [1]);
    });

    it("cleans the scopes of nodes and flows no longer deployed, keeping global, when told to", async function () {
      const cleaning = redisContextStore({ redis: redis.url, prefix: ctxPrefix, cleanUnused: true });
      await cleaning.open();
      await call(store.set, "global", "g", 1);
      await call(store.set, "flowA", "v", 1);
      await call(store.set, "flowB", "v", 1);
      await call(store.set, "node1:flowA", "v", 1);
      await call(store.set, "node2:flowB", "v", 1);
      await cleaning.clean(["flowA", "node1"]);
      await cleaning.close();
      assert.deepEqual(await call(store.get, "global", "g"), [1]);
      assert.deepEqual(await call(store.get, "flowA", "v"), [1]);
      assert.deepEqual(await call(store.get, "node1:flowA", "v"), [1]);
      assert.deepEqual(await call(store.get, "flowB", "v"), [undefined]);
      assert.deepEqual(await call(store.get, "node2:flowB", "v"), [undefined]);
    });

    it("keeps its values through a Redis restart and finishes a write made while Redis was down", async function () {
      await call(store.set, "flowR", "before", { kept: true });
      await redis.stop();
      const during = call(store.set, "flowR", "during", 42);
      await sleep(300);
      await redis.start();
      await during;
      assert.deepEqual(await call(store.get, "flowR", ["before", "during"]), [{ kept: true }, 42]);
    });
  });

  it("loads neither ioredis nor bullmq in the embedded mode", function () {
    const script = `
      require(${JSON.stringify(path.join(root, "dist", "pw-instance.js"))});
      require(${JSON.stringify(path.join(root, "dist", "pw-dedupe.js"))});
      const { sharedState } = require(${JSON.stringify(path.join(root, "dist", "lib", "scale", "state.js"))});
      if (sharedState(undefined) !== null) throw new Error("not embedded");
      const loaded = Object.keys(require.cache).filter((f) => /node_modules[\\\\/](ioredis|bullmq)[\\\\/]/.test(f));
      console.log(JSON.stringify(loaded));`;
    const out = execFileSync(process.execPath, ["-e", script], { encoding: "utf8" });
    assert.deepEqual(JSON.parse(out.trim()), []);
  });
});
