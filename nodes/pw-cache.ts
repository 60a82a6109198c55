import type { Node, NodeAPI, NodeDef, NodeMessage } from "node-red";
import type { Request, Response } from "express";
import {
  addToEntry,
  cacheNameOf,
  cacheTtlMs,
  checkCacheName,
  checkScope,
  contextKey,
  liveEntry,
  maxBytesOf,
  payloadJson,
  readEntry,
  type CacheEntry,
  type CacheScope,
} from "./lib/cache";
import { compileTemplate, type Template } from "./lib/templates";
import { derive, pwOf, runIdOf, withPw } from "./lib/message";
import { checkWritableKey } from "./lib/keys";
import { parsePath } from "./lib/paths";
import { templateView } from "./template-view";
import { noPayload, refuseMessages, shapeLabel, startClean } from "./shape";
import { shapeRuns } from "./contracts";
import { installAdminErrors } from "./admin-errors";
import { sharedState } from "./lib/scale/state";

interface CacheDef extends NodeDef {
  action: "add" | "load";
  cache: string;
  /** A template; empty is "default". */
  key?: string;
  scope: CacheScope;
  /** Context store; empty is the runtime's default store. */
  store?: string;
  append?: boolean;
  /** Save all pages: each page of a pull under its page number. */
  allPages?: boolean;
  ttl?: number | string;
  ttlUnit?: string;
  maxMB?: number | string;
  /** Load: where the cached value goes (a message property, default payload). */
  property?: string;
  /** Load: when nothing is cached: an empty list, an error, or no message. */
  miss?: "empty" | "error" | "skip";
  /** Load of a cache saved with all pages: one payload, or one message per page. */
  pages?: "all" | "each";
}

type Ctx = ReturnType<Node["context"]>["flow"];

/** Where caches live: a context (a flow's or global) in one store. Known from the deployed cache shapes. */
interface Place {
  id: string;
  scope: "flow" | "global";
  flow?: string;
  store: string;
  context: Ctx;
}
const places = new Map<string, Place>();

/** One change at a time per context variable: concurrent appends of parallel runs all land. */
const locks = new Map<string, Promise<unknown>>();
function locked<T>(id: string, work: () => Promise<T>): Promise<T> {
  const before = locks.get(id) ?? Promise.resolve();
  const result = before.then(work, work);
  const tail = result.catch(() => undefined);
  locks.set(id, tail);
  void tail.then(() => {
    if (locks.get(id) === tail) locks.delete(id);
  });
  return result;
}

const getValue = (ctx: Ctx, key: string, store: string | undefined) =>
  new Promise<unknown>((resolve, reject) =>
    ctx.get(key, store as string, (err: Error | null | undefined, value: unknown) =>
      err ? reject(err) : resolve(value),
    ),
  );
const setValue = (ctx: Ctx, key: string, value: unknown, store: string | undefined) =>
  new Promise<void>((resolve, reject) =>
    ctx.set(key, value, store as string, (err?: Error | null) => (err ? reject(err) : resolve())),
  );
const keysOf = (ctx: Ctx, store: string | undefined) =>
  new Promise<string[]>((resolve, reject) =>
    ctx.keys(store as string, (err: Error | null | undefined, keys: unknown[]) =>
      err ? reject(err) : resolve((keys ?? []).map(String)),
    ),
  );

export = function (RED: NodeAPI) {
  // In the scale-out mode an entry in a store shared by workers (Redis) is changed by one worker at a time.
  const shared = sharedState(
    (RED.settings as { patchworks?: { scaleOut?: unknown } }).patchworks?.scaleOut,
    (m) => RED.log.warn(`pw-cache: ${m}`),
  );
  /**
   * Is the context store (a name; undefined: the default) one of Node-RED's built-in ones (memory,
   * localfilesystem: named by a string), each worker's own? Then a lock across workers would guard
   * nothing, and would hold every message's cache change up on Redis. Read once per shape, at deploy.
   */
  const workerOwn = (store: string | undefined): boolean => {
    const cfg = (RED.settings as { contextStorage?: Record<string, unknown> }).contextStorage;
    const names = Object.keys(cfg ?? {});
    if (!cfg || names.length === 0) return true;
    let name = store ?? (Object.hasOwn(cfg, "default") ? "default" : names[0]);
    if (name === "default" && typeof cfg.default === "string") name = cfg.default;
    const entry = Object.hasOwn(cfg, name) ? (cfg[name] as { module?: unknown } | undefined) : undefined;
    return !!entry && typeof entry === "object" && typeof entry.module === "string";
  };
  function PwCache(this: Node, def: CacheDef) {
    RED.nodes.createNode(this, def);
    const node = this;
    startClean(node);
    const label = shapeLabel("cache", def);
    const store = def.store || undefined;
    let scope: CacheScope;
    let cache: string;
    let key: Template;
    let ttlMs = 0;
    let maxBytes = 0;
    let property: string[] = ["payload"];
    const miss = def.miss ?? "empty";
    try {
      if (def.action !== "add" && def.action !== "load")
        throw new Error(`unknown action "${String(def.action)}" (use add or load)`);
      cache = checkCacheName(def.cache);
      scope = checkScope(def.scope);
      key = compileTemplate(def.key || "default");
      if (def.action === "add") {
        ttlMs = cacheTtlMs(def.ttl, def.ttlUnit ?? "days");
        maxBytes = maxBytesOf(def.maxMB);
      } else {
        const path = def.property || "payload";
        property = parsePath(path).map((seg) => {
          if (seg.kind !== "key")
            throw new Error(`the property "${path}" must be a plain name such as payload or cached.orders`);
          checkWritableKey(seg.key, `the property "${path}"`);
          return seg.key;
        });
        if (!["empty", "error", "skip"].includes(miss))
          throw new Error(`unknown choice for a miss "${String(miss)}"`);
        if (def.pages !== undefined && def.pages !== "all" && def.pages !== "each")
          throw new Error(`unknown choice for pages "${String(def.pages)}"`);
      }
      // Node-RED falls back to the default store for a name it does not know: refuse it instead.
      const configured = (RED.settings as { contextStorage?: Record<string, unknown> }).contextStorage;
      const known = ["default", ...Object.keys(configured ?? {})];
      if (store && !known.includes(store))
        throw new Error(`there is no context store "${store}" (settings.js has ${known.join(", ")})`);
    } catch (err) {
      refuseMessages(node, label, "pw-cache.status.bad-config", err);
      return;
    }
    const context = scope === "global" ? node.context().global : node.context().flow;
    const lock = shared && !workerOwn(store) ? shared.lock : undefined;
    const acrossWorkers = <T>(id: string, work: () => Promise<T>): Promise<T> =>
      lock ? lock.run(`cache:${id}`, work) : work();
    const placeScope = scope === "global" ? "global" : "flow";
    const placeId = `${store ?? ""}|${placeScope === "global" ? "global" : (node as Node & { z: string }).z}`;
    places.set(placeId, {
      id: placeId,
      scope: placeScope,
      flow: placeScope === "flow" ? (node as Node & { z: string }).z : undefined,
      store: store ?? "",
      context,
    });
    const cleanups = new Set<string>();

    const variableFor = (msg: NodeMessage): { variable: string; keyText: string; runId?: string } => {
      const keyText = key(templateView(RED, node, msg, store)) || "default";
      const runId = runIdOf(msg);
      if (scope === "run" && !runId)
        throw new Error(
          "the cache is scoped to the run, but this message belongs to no run: start the flow with a trigger shape",
        );
      return { variable: contextKey(cache, keyText, scope === "run" ? runId : undefined), keyText, runId };
    };

    node.on("input", (msg, send, done) => {
      let target: ReturnType<typeof variableFor>;
      try {
        target = variableFor(msg);
      } catch (err) {
        done(new Error(`${label}: ${(err as Error).message}`));
        return;
      }
      const lockId = `${placeId}|${target.variable}`;
      if (def.action === "add") {
        if (msg.payload === undefined) {
          done(noPayload(label));
          return;
        }
        let json: string;
        try {
          json = payloadJson(msg.payload);
        } catch (err) {
          node.status({ fill: "red", shape: "dot", text: "pw-cache.status.failed" });
          done(new Error(`${label}: ${(err as Error).message}; put a map shape first to keep only data`));
          return;
        }
        const page = def.allPages ? (pwOf(msg).page?.number ?? 1) : undefined;
        locked(lockId, () =>
          acrossWorkers(lockId, async () => {
            const existing = (await getValue(context, target.variable, store)) as CacheEntry | undefined;
            const entry = addToEntry(existing, json, {
              cache,
              key: target.keyText,
              append: !!def.append,
              page,
              runId: target.runId,
              now: Date.now(),
              ttlMs,
              maxBytes,
            });
            await setValue(context, target.variable, entry, store);
            return entry;
          }),
        ).then(
          (entry) => {
            if (scope === "run" && target.runId && !cleanups.has(target.variable)) {
              cleanups.add(target.variable);
              shapeRuns()?.whenFinished(target.runId, () => {
                cleanups.delete(target.variable);
                locked(lockId, () => setValue(context, target.variable, undefined, store)).catch(
                  () => undefined,
                );
              });
            }
            node.status({
              fill: "green",
              shape: "dot",
              text: `${cache}: ${(entry.bytes / 1024).toFixed(0)} KB`,
            });
            send(msg);
            done();
          },
          (err: Error) => {
            node.status({ fill: "red", shape: "dot", text: "pw-cache.status.failed" });
            done(new Error(`${label}: ${err.message}`));
          },
        );
        return;
      }
      locked(lockId, () => getValue(context, target.variable, store)).then(
        (value) => {
          const entry = liveEntry(value, Date.now());
          if (!entry) {
            node.status({ fill: "yellow", shape: "ring", text: "pw-cache.status.miss" });
            if (miss === "error")
              return done(
                new Error(
                  `${label}: nothing is cached in "${cache}" under key "${target.keyText}" (${scope} scope${store ? `, store ${store}` : ""}); ` +
                    "add to it first, or choose what a miss does",
                ),
              );
            if (miss === "skip") return done();
            send(put(msg, []));
            return done();
          }
          const read = readEntry(entry, def.pages ?? "all");
          node.status({
            fill: "green",
            shape: "dot",
            text: `${cache}: ${(entry.bytes / 1024).toFixed(0)} KB`,
          });
          if (read.pages) {
            read.pages.forEach((p, i) => {
              const out = put(msg, p.payload);
              send(withPw(out, { page: { number: p.number, last: i === read.pages!.length - 1 } }));
            });
          } else send(put(msg, read.payload));
          done();
        },
        (err: Error) => {
          node.status({ fill: "red", shape: "dot", text: "pw-cache.status.failed" });
          done(new Error(`${label}: the cache "${cache}" could not be read: ${err.message}`));
        },
      );
    });

    /** The message with the value at the chosen property (a new message; nested objects on the way copied). */
    function put(msg: NodeMessage, value: unknown): NodeMessage {
      if (property.length === 1 && property[0] === "payload") return derive(msg, value);
      const out: Record<string, unknown> = { ...msg };
      let holder = out;
      for (let i = 0; i < property.length - 1; i++) {
        const next = holder[property[i]];
        const copy: Record<string, unknown> =
          next && typeof next === "object" && !Array.isArray(next)
            ? { ...(next as Record<string, unknown>) }
            : {};
        holder[property[i]] = copy;
        holder = copy;
      }
      holder[property[property.length - 1]] = value;
      return out as NodeMessage;
    }
  }

  RED.nodes.registerType("pw-cache", PwCache);
  adminRoutes(RED);
};

/**
 * GET pw/cache: every cache in the places the deployed cache shapes use, with its entries and
 * size. DELETE pw/cache?place=…&cache=…: removes every entry of that cache there.
 */
function adminRoutes(RED: NodeAPI): void {
  const read = RED.auth.needsPermission("pw-cache.read");
  const write = RED.auth.needsPermission("pw-cache.write");

  async function list() {
    const now = Date.now();
    const out: Array<Record<string, unknown>> = [];
    for (const place of places.values()) {
      const byName = new Map<
        string,
        { entries: number; bytes: number; runs: Set<string>; savedAt: number; variables: string[] }
      >();
      for (const variable of await keysOf(place.context, place.store || undefined)) {
        const info = cacheNameOf(variable);
        if (!info) continue;
        const entry = liveEntry(await getValue(place.context, variable, place.store || undefined), now);
        if (!entry) continue;
        let c = byName.get(info.name);
        if (!c)
          byName.set(info.name, (c = { entries: 0, bytes: 0, runs: new Set(), savedAt: 0, variables: [] }));
        c.entries++;
        c.bytes += entry.bytes;
        c.savedAt = Math.max(c.savedAt, entry.savedAt);
        if (info.run) c.runs.add(info.run);
        c.variables.push(variable);
      }
      for (const [name, c] of byName)
        out.push({
          place: place.id,
          cache: name,
          scope: c.runs.size ? "run" : place.scope,
          flow: place.flow,
          store: place.store || "default",
          entries: c.entries,
          bytes: c.bytes,
          savedAt: new Date(c.savedAt).toISOString(),
        });
    }
    return out.sort((a, b) => String(a.cache).localeCompare(String(b.cache)));
  }

  RED.httpAdmin.get("/pw/cache", read, (_req: Request, res: Response) => {
    list().then(
      (caches) => res.json({ caches }),
      (err: Error) => res.status(500).json({ error: "internal_error", message: err.message }),
    );
  });

  RED.httpAdmin.delete("/pw/cache", write, (req: Request, res: Response) => {
    const placeId = typeof req.query.place === "string" ? req.query.place : "";
    const name = typeof req.query.cache === "string" ? req.query.cache : "";
    const place = places.get(placeId);
    if (!place || !name)
      return res.status(400).json({
        error: "bad_request",
        message: "say which cache: ?place=…&cache=… as GET pw/cache lists them",
      });
    const store = place.store || undefined;
    keysOf(place.context, store)
      .then(async (variables) => {
        let cleared = 0;
        for (const variable of variables) {
          if (cacheNameOf(variable)?.name !== name) continue;
          await locked(`${place.id}|${variable}`, () => setValue(place.context, variable, undefined, store));
          cleared++;
        }
        if (!cleared)
          return res.status(404).json({ error: "not_found", message: `there is no cache "${name}" there` });
        res.json({ cleared });
      })
      .catch((err: Error) => res.status(500).json({ error: "internal_error", message: err.message }));
  });
  installAdminErrors(RED);
}
