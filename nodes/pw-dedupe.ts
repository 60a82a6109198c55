import os from "node:os";
import path from "node:path";
import type { Node, NodeAPI, NodeDef, NodeMessage } from "node-red";
import type { Request, Response } from "express";
import {
  DEDUPE_MODES,
  DedupeStore,
  embeddedPools,
  checkEntity,
  checkPoolName,
  compileKey,
  keyText,
  ttlSeconds,
  type DedupeMode,
  type KeyReader,
  type PoolStore,
} from "./lib/dedupe";
import { sharedState } from "./lib/scale/state";
import { parseCsv, toCsv } from "./lib/csv";
import { derive, pwOf } from "./lib/message";
import { noPayload, refuseMessages, sendOn, shapeLabel, startClean } from "./shape";
import { installAdminErrors } from "./admin-errors";

interface DedupeDef extends NodeDef {
  mode: DedupeMode;
  keyType?: "path" | "template";
  key: string;
  entity?: string;
  pool: string;
  ttl?: number | string;
  ttlUnit?: string;
  /** Records without a key: fail the message (default), pass them on, or drop them. */
  missing?: "error" | "pass" | "drop";
  /** Duplicates to a second output instead of being dropped. */
  duplicatesOutput?: boolean;
}

/** The most CSV text one import may carry (as the product's 5 MB). */
const MAX_IMPORT_BYTES = 5 * 1024 * 1024;

/** One store per user directory, shared by every de-dupe shape and the admin routes. */
const stores = new Map<string, PoolStore>();

/** The pools: files under the user directory, or Redis in the scale-out mode (one pool for all workers). */
function storeFor(RED: NodeAPI): PoolStore {
  const scaleOut = (RED.settings as { patchworks?: { scaleOut?: unknown } }).patchworks?.scaleOut;
  const shared = sharedState(scaleOut, (m) => RED.log.warn(`pw-dedupe: ${m}`));
  if (shared) return shared.pools;
  const userDir =
    (RED.settings as { userDir?: string }).userDir ?? path.join(os.tmpdir(), `pw-userdir-${process.pid}`);
  const dir = path.join(userDir, "patchworks", "dedupe");
  let store = stores.get(dir);
  if (!store) stores.set(dir, (store = embeddedPools(new DedupeStore(dir))));
  return store;
}

export = function (RED: NodeAPI) {
  function PwDedupe(this: Node, def: DedupeDef) {
    RED.nodes.createNode(this, def);
    const node = this;
    startClean(node);
    const label = shapeLabel("de-dupe", def);
    let readKey: KeyReader;
    let mode: DedupeMode;
    let poolName: string;
    let entity: string;
    let ttl: number;
    const missing = def.missing ?? "error";
    try {
      if (!DEDUPE_MODES.includes(def.mode))
        throw new Error(`unknown mode "${String(def.mode)}" (use filter, track or filter-and-track)`);
      mode = def.mode;
      poolName = checkPoolName(def.pool);
      entity = checkEntity(def.entity);
      readKey = compileKey(def.keyType, def.key);
      ttl = ttlSeconds(def.ttl, def.ttlUnit ?? "days");
      if (!["error", "pass", "drop"].includes(missing))
        throw new Error(`unknown choice for records without a key "${String(missing)}"`);
    } catch (err) {
      refuseMessages(node, label, "pw-dedupe.status.bad-config", err);
      return;
    }
    const store = storeFor(RED);
    const outputs = def.duplicatesOutput ? 2 : 1;
    const where = def.keyType === "template" ? `the key template "${def.key}"` : `the key path "${def.key}"`;
    let passedCount = 0;
    let duplicateCount = 0;
    let trackedCount = 0;

    node.on("input", (msg, send, done) => {
      if (msg.payload === undefined) {
        done(noPayload(label));
        return;
      }
      const single = !Array.isArray(msg.payload);
      const records: unknown[] = single ? [msg.payload] : (msg.payload as unknown[]);
      const pw = pwOf(msg);
      const extra = { meta: pw.meta ?? {}, run: pw.run ?? {} };
      const keys = new Array<string | undefined>(records.length);
      for (let i = 0; i < records.length; i++) {
        let text: ReturnType<typeof keyText>;
        try {
          text = keyText(readKey(records[i], extra));
        } catch (err) {
          text = { problem: `has a key that could not be read (${(err as Error).message})` };
        }
        if (typeof text === "string") keys[i] = text;
        else if (missing === "error") {
          node.status({ fill: "red", shape: "dot", text: "pw-dedupe.status.failed" });
          done(
            new Error(
              `${label}: record ${i + 1} of ${records.length} ${text.problem} at ${where}. ` +
                'Fix the key in the shape, or choose what to do with "records without a key"',
            ),
          );
          return;
        }
      }
      store
        .pool(poolName)
        // Atomic in either store: no other message (of this worker or another) comes between.
        .then((pool) => pool.checkAndSet(entity, keys, mode, ttl))
        .then(
          (result) => {
            const kept: unknown[] = [];
            const duplicates: unknown[] = [];
            for (let i = 0; i < records.length; i++) {
              if (keys[i] === undefined) {
                if (missing === "pass") kept.push(records[i]);
              } else if (result.passed[i]) kept.push(records[i]);
              else duplicates.push(records[i]);
            }
            passedCount += kept.length;
            duplicateCount += duplicates.length;
            trackedCount += result.tracked;
            node.status({
              fill: "green",
              shape: "dot",
              text:
                mode === "track"
                  ? `${trackedCount} tracked`
                  : `${passedCount} passed, ${duplicateCount} duplicates`,
            });
            const out = (list: unknown[]): NodeMessage | null =>
              list.length === 0 ? null : single ? msg : derive(msg, list);
            const keptMsg = out(kept);
            if (keptMsg) sendOn(send, outputs, 0, keptMsg);
            if (outputs === 2) {
              const dupMsg = out(duplicates);
              if (dupMsg) sendOn(send, outputs, 1, dupMsg);
            }
            done();
          },
          (err: Error) => {
            node.status({ fill: "red", shape: "dot", text: "pw-dedupe.status.failed" });
            done(
              new Error(
                `${label}: the data pool "${poolName}" could not be read or written (${err.message}); ` +
                  "check that the user directory is writable. The records were not sent on",
              ),
            );
          },
        );
    });
  }

  RED.nodes.registerType("pw-dedupe", PwDedupe);
  adminRoutes(RED);
};

/**
 * GET pw/dedupe/pools: every pool with its key counts. GET pw/dedupe/pools/:pool?entity=&q=&limit=:
 * one pool and up to `limit` of its keys (containing q). GET …/:pool/csv: the pool as CSV
 * (value,entity). POST …/:pool/csv { csv, ttl?, ttlUnit? }: adds the rows (never removes).
 * DELETE …/:pool: clears it.
 */
function adminRoutes(RED: NodeAPI): void {
  const read = RED.auth.needsPermission("pw-dedupe.read");
  const write = RED.auth.needsPermission("pw-dedupe.write");
  const bad = (res: Response, status: number, message: string) =>
    res.status(status).json({ error: status === 404 ? "not_found" : "bad_request", message });
  const failed = (res: Response, err: unknown) => {
    // A CSV export that fails part way (Redis gone) can only be cut short.
    if (res.headersSent) res.end();
    else res.status(500).json({ error: "internal_error", message: (err as Error).message });
  };
  const named = (req: Request, res: Response): string | undefined => {
    try {
      return checkPoolName(req.params.pool);
    } catch (err) {
      bad(res, 400, (err as Error).message);
      return undefined;
    }
  };

  RED.httpAdmin.get("/pw/dedupe/pools", read, (_req: Request, res: Response) => {
    const store = storeFor(RED);
    store
      .names()
      .then((names) => Promise.all(names.map((n) => store.pool(n).then((p) => p.info()))))
      .then(
        (pools) => res.json({ pools }),
        (err) => failed(res, err),
      );
  });

  RED.httpAdmin.get("/pw/dedupe/pools/:pool", read, (req: Request, res: Response) => {
    const name = named(req, res);
    if (name === undefined) return;
    const limit = Math.min(1000, Math.max(1, Number(req.query.limit) || 50));
    const q = typeof req.query.q === "string" ? req.query.q.toLowerCase() : "";
    const entity = typeof req.query.entity === "string" ? req.query.entity : undefined;
    storeFor(RED)
      .existing(name)
      .then(async (pool) => {
        if (!pool) return bad(res, 404, `there is no data pool "${name}"`);
        const keys = [];
        for await (const e of pool.entries(entity)) {
          if (q && !e.key.toLowerCase().includes(q)) continue;
          keys.push({ value: e.key, entity: e.entity, expiresAt: new Date(e.expiresAt).toISOString() });
          if (keys.length >= limit) break;
        }
        res.json({ pool: await pool.info(), keys });
      })
      .catch((err) => failed(res, err));
  });

  RED.httpAdmin.get("/pw/dedupe/pools/:pool/csv", read, (req: Request, res: Response) => {
    const name = named(req, res);
    if (name === undefined) return;
    storeFor(RED)
      .existing(name)
      .then(async (pool) => {
        if (!pool) return bad(res, 404, `there is no data pool "${name}"`);
        res.setHeader("content-type", "text/csv; charset=utf-8");
        res.setHeader(
          "content-disposition",
          `attachment; filename="${name.replace(/[^A-Za-z0-9_-]+/g, "_")}.csv"`,
        );
        let rows: unknown[][] = [["value", "entity"]];
        for await (const e of pool.entries()) {
          rows.push([e.key, e.entity]);
          if (rows.length >= 10000) {
            res.write(toCsv(rows));
            rows = [];
          }
        }
        res.end(rows.length ? toCsv(rows) : "");
      })
      .catch((err) => failed(res, err));
  });

  RED.httpAdmin.post("/pw/dedupe/pools/:pool/csv", write, (req: Request, res: Response) => {
    const name = named(req, res);
    if (name === undefined) return;
    const body = (req.body ?? {}) as { csv?: unknown; ttl?: unknown; ttlUnit?: unknown };
    if (typeof body.csv !== "string") return bad(res, 400, 'send { "csv": "value,entity\\n…" }');
    if (Buffer.byteLength(body.csv) > MAX_IMPORT_BYTES)
      return bad(
        res,
        413,
        `the CSV is over ${MAX_IMPORT_BYTES / 1024 / 1024} MB: split it into several imports`,
      );
    let ttl: number;
    let rows: string[][];
    try {
      ttl = ttlSeconds(body.ttl, body.ttlUnit ?? "days");
      rows = parseCsv(body.csv);
    } catch (err) {
      return bad(res, 400, (err as Error).message);
    }
    if (rows.length && rows[0][0]?.trim().toLowerCase() === "value") rows.shift();
    const byEntity = new Map<string, string[]>();
    for (const [i, row] of rows.entries()) {
      const value = row[0] ?? "";
      const text = keyText(value);
      let entity: string;
      try {
        entity = checkEntity(row[1] ?? "");
      } catch (err) {
        return bad(res, 400, `row ${i + 1}: ${(err as Error).message}`);
      }
      if (typeof text !== "string") return bad(res, 400, `row ${i + 1} ${text.problem}`);
      const list = byEntity.get(entity);
      if (list) list.push(text);
      else byEntity.set(entity, [text]);
    }
    storeFor(RED)
      .pool(name)
      .then(async (pool) => {
        let added = 0;
        for (const [entity, keys] of byEntity) added += await pool.add(entity, keys, ttl);
        res.json({ added, skipped: rows.length - added, pool: await pool.info() });
      })
      .catch((err) => failed(res, err));
  });

  RED.httpAdmin.delete("/pw/dedupe/pools/:pool", write, (req: Request, res: Response) => {
    const name = named(req, res);
    if (name === undefined) return;
    storeFor(RED)
      .existing(name)
      .then(async (pool) => {
        if (!pool) return bad(res, 404, `there is no data pool "${name}"`);
        const cleared = (await pool.info()).keys;
        await pool.clear();
        res.json({ cleared, pool: await pool.info() });
      })
      .catch((err) => failed(res, err));
  });
  installAdminErrors(RED);
}
