import type { IncomingMessage, ServerResponse } from "node:http";
import { HttpError, readBody } from "./body";

/**
 * Reads webhook bodies before any other middleware can. Node-RED mounts its admin API (with
 * JSON and form body parsers applied to every request) on the same server, often on the same
 * root as the node API, so by the time a webhook route runs its body may already be parsed
 * and the raw bytes a signature covers are gone. Like Node-RED's own http-in raw-body
 * capture, one middleware sits at the top of the root app and keeps the raw body of requests
 * to our webhook paths; body parsers then skip them (they honour `req._body`).
 */
export interface CapturedRequest extends IncomingMessage {
  pwRawBody?: Buffer;
  _body?: boolean;
  originalUrl?: string;
}

interface Captured {
  pattern: RegExp;
  limit: number;
}

const routes = new Map<string, Captured>();

const keyOf = (path: string) => path.toLowerCase().replace(/\/+$/, "") || "/";

/** The Express path as a regular expression: `:param` matches one segment, like Express. */
export function pathPattern(path: string): RegExp {
  const source = keyOf(path)
    .split("/")
    .map((part) => (part.startsWith(":") ? "[^/]+" : part.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")))
    .join("/");
  return new RegExp(`^${source}/?$`, "i");
}

export function captureRoute(fullPath: string, limitBytes: number): void {
  routes.set(keyOf(fullPath), { pattern: pathPattern(fullPath), limit: limitBytes });
}

export function releaseCapture(fullPath: string): void {
  routes.delete(keyOf(fullPath));
}

function limitFor(path: string): number | undefined {
  const exact = routes.get(keyOf(path));
  if (exact) return exact.limit;
  for (const route of routes.values()) if (route.pattern.test(path)) return route.limit;
  return undefined;
}

export function rawBodyCapture(
  req: CapturedRequest,
  res: ServerResponse,
  next: (err?: unknown) => void,
): void {
  if (routes.size === 0 || req.method === "GET" || req.method === "HEAD") return next();
  const url = req.originalUrl ?? req.url ?? "";
  const q = url.indexOf("?");
  const limit = limitFor(q < 0 ? url : url.slice(0, q));
  if (limit === undefined) return next();
  readBody(req, limit).then(
    (raw) => {
      req.pwRawBody = raw;
      req._body = true;
      next();
    },
    (err: HttpError) => {
      res.statusCode = err.status ?? 400;
      res.setHeader("content-type", "application/json; charset=utf-8");
      res.setHeader("connection", "close");
      res.end(JSON.stringify({ message: err.message }));
    },
  );
}

interface AppLike {
  parent?: unknown;
  use(fn: unknown): unknown;
  _router?: { stack: Array<{ handle: unknown }> };
}

/** Puts the capture first in the outermost Express app the node API is mounted in. */
export function installCapture(nodeApp: unknown): boolean {
  let app = nodeApp as AppLike;
  while (app && typeof app.parent === "function") app = app.parent as unknown as AppLike;
  if (!app || typeof app.use !== "function") return false;
  const stack = app._router?.stack;
  if (stack?.some((layer) => layer.handle === rawBodyCapture)) return true;
  app.use(rawBodyCapture);
  const layers = app._router?.stack;
  if (!layers) return false;
  const at = layers.findIndex((layer) => layer.handle === rawBodyCapture);
  if (at > 0) layers.unshift(layers.splice(at, 1)[0]);
  return true;
}
