import type { Readable } from "node:stream";
import { HttpError, parseBody, readBody, type BodyKind } from "./body";
import { secretCarriers, signsBodyOnly, verifyWebhook, type WebhookAuth } from "./signature";
import { setKey } from "../keys";

/** What the trigger needs of an incoming request (an Express request satisfies it). */
export interface IncomingRequest extends Readable {
  method: string;
  originalUrl: string;
  headers: Record<string, string | string[] | undefined>;
  query: Record<string, unknown>;
  params?: Record<string, string>;
  /** The raw body, when the capture middleware read it before any body parser. */
  pwRawBody?: Buffer;
  /** Set by body parsers once they consumed the stream. */
  _body?: boolean;
}

/** Request details handed to the flow as `msg.webhook`, with secret-carrying fields removed. */
export interface WebhookDetails {
  method: string;
  url: string;
  headers: Record<string, string | string[] | undefined>;
  query: Record<string, unknown>;
  params: Record<string, string>;
  bodyKind: BodyKind;
  /** The body exactly as received, for flows that check signatures or store originals. */
  rawBody: Buffer;
}

export interface Delivery {
  payload: unknown;
  webhook: WebhookDetails;
}

export interface ReceiveOptions {
  methods: Set<string>;
  auth: WebhookAuth;
  limitBytes: number;
  /** The full URL the sender called, for schemes that sign it (HubSpot v3). */
  fullUrl: string;
  /** Accept an empty body under a signature that covers only the body (it then proves nothing). */
  allowEmptySigned?: boolean;
  now?: number;
}

function without<T>(record: Record<string, T>, names: string[]): Record<string, T> {
  if (names.length === 0) return { ...record };
  const out: Record<string, T> = {};
  for (const key of Object.keys(record))
    if (!names.includes(key.toLowerCase())) setKey(out, key, record[key]);
  return out;
}

/**
 * Accepts or refuses one webhook request: method (405), size (413), authentication (401),
 * body syntax (400). The body is checked against the signature before it is parsed.
 */
export async function receive(req: IncomingRequest, opts: ReceiveOptions): Promise<Delivery> {
  const method = req.method.toUpperCase();
  if (!opts.methods.has(method)) {
    req.resume();
    throw new HttpError(405, `this webhook accepts ${[...opts.methods].join(" and ")}, not ${method}`);
  }
  const rawBody = await rawBodyOf(req, opts.limitBytes);
  const verdict = verifyWebhook(
    opts.auth,
    { method, url: opts.fullUrl, headers: req.headers, query: req.query, rawBody },
    opts.now,
  );
  if (!verdict.ok) throw new HttpError(401, `authentication failed: ${verdict.reason}`);
  const bodyOnly = signsBodyOnly(opts.auth);
  if (bodyOnly && rawBody.length === 0 && !opts.allowEmptySigned)
    throw new HttpError(
      401,
      "authentication failed: the signature covers only the body, and this request has none (the signature of an empty body never changes)",
    );

  const { kind, value } = parseBody(rawBody, req.headers["content-type"] as string | undefined);
  const carriers = secretCarriers(opts.auth);
  const query = without(
    req.query,
    carriers.query.map((q) => q.toLowerCase()),
  );
  const headers = without(req.headers, carriers.headers);
  const url = carriers.query.length ? stripQuery(req.originalUrl, carriers.query) : req.originalUrl;
  return {
    // The product's rule: when a request has both a body and URL parameters, the body wins.
    // Under a signature of the body alone the query is not signed: it never becomes the payload.
    payload: kind === "empty" ? (bodyOnly ? {} : query) : value,
    webhook: { method, url, headers, query, params: { ...(req.params ?? {}) }, bodyKind: kind, rawBody },
  };
}

function stripQuery(url: string, names: string[]): string {
  const at = url.indexOf("?");
  if (at < 0) return url;
  const params = new URLSearchParams(url.slice(at + 1));
  for (const name of names) params.delete(name);
  const rest = params.toString();
  return url.slice(0, at) + (rest ? `?${rest}` : "");
}

async function rawBodyOf(req: IncomingRequest, limit: number): Promise<Buffer> {
  if (req.pwRawBody) return req.pwRawBody;
  if (req._body || req.readableEnded) {
    // Another middleware consumed the body first; the bytes a signature covers are gone.
    throw new HttpError(
      500,
      "the request body was read by other middleware before the webhook: mount Node-RED's httpNode app before any body parser",
    );
  }
  if (req.method === "GET") return Buffer.alloc(0);
  return readBody(req, limit);
}
