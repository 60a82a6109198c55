import axios, { type AxiosRequestConfig, type AxiosResponse } from "axios";
import { randomUUID } from "node:crypto";
import { XMLBuilder, XMLParser } from "fast-xml-parser";
import type { Agent as HttpsAgent } from "node:https";
import { delay } from "../delay";
import type { RequestRecord } from "../records";
import type { Limiter } from "./rate-limit";
import { isSecretKey, maskSecrets, redactUrl } from "../redact";
import { setKey } from "../keys";

/**
 * One HTTP request with everything around it: the instance's rate limit, retries with
 * backoff and Retry-After, the rule for non-idempotent methods, the run's AbortSignal, and a
 * record of it for the run log with secrets taken out of the URL.
 */
export interface HttpRequest {
  method: string;
  url: string;
  headers?: Record<string, string>;
  query?: Record<string, unknown>;
  body?: unknown;
  bodyFormat?: "json" | "form" | "xml" | "text";
  responseFormat?: "json" | "xml" | "text";
  /** The page number this request fetches (page paging); not sent. */
  page?: number;
}

export interface SendOptions {
  /** Tries in all, the first included (default 3). */
  attempts?: number;
  timeoutMs?: number;
  /** First backoff step; doubles each retry, with jitter (default 500 ms). */
  backoffMs?: number;
  maxBackoffMs?: number;
  /** The longest a Retry-After (or reset header) may make a run wait (default 60 s). */
  retryAfterCapMs?: number;
  /** A vendor header telling when to try again, as the connector declares it. */
  resetHeader?: { name: string; unit: "seconds" | "epoch_s" | "epoch_ms" };
  /**
   * The header carrying an idempotency key the API honours. A POST/PATCH then carries a key,
   * the same on every attempt of this request (`idempotencyKey`, or a random UUID made here),
   * and only then is it retried after a 5xx or a lost connection.
   */
  idempotencyHeader?: string;
  /** The key for this one logical request (a batch is one), e.g. rendered from a connector's template. */
  idempotencyKey?: string;
  signal?: AbortSignal;
  limiter?: Limiter;
  /** Values never to show (tokens, keys): replaced by *** in recorded URLs and errors. */
  secrets?: string[];
  /** Told of every request, for the run log. */
  record?: (request: RequestRecord) => void;
  httpsAgent?: HttpsAgent;
  proxy?: AxiosRequestConfig["proxy"];
  /**
   * Redirects: followed on the API's own origin only (default); "none" follows none; "follow"
   * also follows to another origin, but without anything the auth method added, without a
   * body, and only for reads (a 307/308 would re-send the body, so it is refused).
   */
  redirects?: RedirectPolicy;
  /** Changes each attempt just before it is sent (auth headers, request signing). */
  prepare?: (request: HttpRequest) => HttpRequest | Promise<HttpRequest>;
  /** The request only reads (a page of a pull, even by POST): 5xx and lost connections are retried. */
  safe?: boolean;
  /** A 401 that may be cured (a session or OAuth token to renew): true to try once more. */
  /** Told the 401 answer (its body as text), so an auth method can tell an expired token from a refused signature. */
  onUnauthorized?: (response: HttpResponse) => Promise<boolean>;
  random?: () => number;
}

export interface HttpResponse {
  status: number;
  headers: Record<string, string>;
  data: unknown;
  url: string;
}

/**
 * What became of a request that failed: `refused` (the API said no, or it never got the
 * request: fix and resend) or `unknown` (a timeout, a reset connection or a 5xx after it was
 * sent: it may have been accepted; resend only with an idempotency key or after checking).
 */
export type Outcome = "refused" | "unknown";

/** A request that failed for good: what a user needs to see, and nothing secret. */
export class HttpError extends Error {
  constructor(
    message: string,
    readonly method: string,
    readonly url: string,
    readonly status?: number,
    readonly excerpt?: string,
    readonly attempts = 1,
    readonly outcome: Outcome = "refused",
  ) {
    super(message);
    this.name = "HttpError";
  }
}

export type RedirectPolicy = "same-origin" | "none" | "follow";
/** Hops followed at most, as browsers and axios do by default. */
const MAX_REDIRECTS = 5;
const REDIRECT = new Set([301, 302, 303, 307, 308]);

const IDEMPOTENT = new Set(["GET", "HEAD", "OPTIONS", "PUT", "DELETE"]);
/** Errors where the request never left: safe to retry whatever the method. */
const NOT_SENT = new Set(["ECONNREFUSED", "ENOTFOUND", "EAI_AGAIN", "EHOSTUNREACH", "ENETUNREACH"]);
const xmlParser = new XMLParser({
  ignoreAttributes: false,
  attributeNamePrefix: "@",
  parseTagValue: true,
  removeNSPrefix: true,
  // Character references (&#xD;&#xA;, as .NET services write line breaks in text) are text too.
  htmlEntities: true,
});
const xmlBuilder = new XMLBuilder({ ignoreAttributes: false, attributeNamePrefix: "@" });

export async function sendRequest(input: HttpRequest, opts: SendOptions = {}): Promise<HttpResponse> {
  const attempts = Math.max(1, opts.attempts ?? 3);
  const method = input.method.toUpperCase();
  // One key per logical request, the same on each of its attempts: the API can then tell a
  // retry from a new request. Never a secret, and never shared by two requests.
  let request = input;
  if (opts.idempotencyHeader && !IDEMPOTENT.has(method)) {
    const key = opts.idempotencyKey || randomUUID();
    request = { ...input, headers: { ...(input.headers ?? {}), [opts.idempotencyHeader]: key } };
    opts = { ...opts, idempotencyKey: key };
  }
  const secrets = opts.secrets ?? [];
  const started = Date.now();
  // The URL as last sent (auth and signing may add to its query), secrets taken out.
  let sentUrl = withQuery(request.url, request.query);
  const shown = () => redactUrl(sentUrl, secrets);
  let triedAuth = false;
  let lastError: HttpError | undefined;
  // An attempt that may have reached the API and been acted on (5xx, timeout, reset).
  let mayHaveLanded = false;
  let attempt = 0;
  const finish = (status: number | undefined, error?: string) =>
    opts.record?.({
      method,
      url: shown(),
      status,
      attempts: attempt,
      durationMs: Date.now() - started,
      at: started,
      ...(error ? { error } : {}),
    });

  /** The run stopped: recorded, and an error saying when (a request in the air may have landed). */
  const stopped = (when: string, inTheAir: boolean): HttpError => {
    finish(undefined, "stopped");
    const outcome = inTheAir || mayHaveLanded ? "unknown" : "refused";
    return new HttpError(
      `${method} ${shown()} was stopped${when}`,
      method,
      shown(),
      undefined,
      undefined,
      attempt,
      outcome,
    );
  };

  while (attempt < attempts) {
    attempt++;
    if (opts.signal?.aborted) throw stopped(" before it was sent", false);
    if (opts.limiter) {
      try {
        await opts.limiter.acquire(opts.signal);
      } catch {
        throw stopped(" while waiting for the rate limit", false);
      }
    }
    const prepared = opts.prepare
      ? await opts.prepare({ ...request, headers: { ...(request.headers ?? {}) } })
      : request;
    sentUrl = withQuery(prepared.url, prepared.query);
    let response: AxiosResponse<string> | undefined;
    let code: string | undefined;
    // The timeout is a deadline for the whole attempt, from the first byte sent to the last
    // byte of the answer, proxies and redirects included: axios's own timeout is reset by
    // every byte, so an answer (or a proxy) that trickles would hold a run for ever.
    const deadline = new AbortController();
    const timeoutMs = opts.timeoutMs ?? 30000;
    const timer = setTimeout(() => deadline.abort(), timeoutMs);
    const signal = opts.signal ? AbortSignal.any([opts.signal, deadline.signal]) : deadline.signal;
    const attemptOpts = { ...opts, signal };
    try {
      response = await axios.request<string>(toAxios(prepared, attemptOpts));
      let current = prepared;
      for (let hop = 1; REDIRECT.has(response.status) && response.headers.location; hop++) {
        const next = redirectTo(
          request,
          current,
          sentUrl,
          String(response.headers.location),
          response.status,
          opts,
        );
        if (typeof next === "string" || hop > MAX_REDIRECTS) {
          const why = typeof next === "string" ? next : `more than ${MAX_REDIRECTS} redirects`;
          finish(response.status, why);
          throw new HttpError(
            `${method} ${shown()} answered ${response.status}: ${why}`,
            method,
            shown(),
            response.status,
            undefined,
            attempt,
          );
        }
        // Each hop is in the run log, so a user sees where the request went.
        opts.record?.({
          method: current.method.toUpperCase(),
          url: shown(),
          status: response.status,
          attempts: attempt,
          durationMs: Date.now() - started,
          at: started,
        });
        const { sameOrigin, ...nextRequest } = next;
        current =
          sameOrigin && opts.prepare
            ? await opts.prepare({ ...nextRequest, headers: { ...(nextRequest.headers ?? {}) } })
            : nextRequest;
        sentUrl = withQuery(current.url, current.query);
        response = await axios.request<string>(toAxios(current, attemptOpts));
      }
    } catch (err) {
      if (err instanceof HttpError) throw err;
      const e = err as { code?: string; message?: string; name?: string };
      if (deadline.signal.aborted && !opts.signal?.aborted) e.code = "ECONNABORTED";
      else if (axios.isCancel(err) || e.name === "CanceledError" || opts.signal?.aborted)
        throw stopped("", true);
      code = e.code ?? "ERR_NETWORK";
      if (!NOT_SENT.has(code)) mayHaveLanded = true;
      lastError = new HttpError(
        `${method} ${shown()} failed: ${code === "ECONNABORTED" ? `no answer within ${timeoutMs} ms` : maskSecrets(e.message ?? code, secrets)}`,
        method,
        shown(),
        undefined,
        undefined,
        attempt,
      );
    } finally {
      clearTimeout(timer);
    }

    if (response) {
      const status = response.status;
      if (status >= 200 && status < 300) {
        finish(status);
        return {
          status,
          headers: flatHeaders(response.headers),
          data: parseBody(
            response.data,
            prepared.responseFormat ?? guessFormat(response.headers),
            method,
            shown(),
            attempt,
          ),
          url: shown(),
        };
      }
      if (status >= 500) mayHaveLanded = true;
      const excerpt = maskSecrets(
        problemDetails(response.data) ?? String(response.data ?? "").slice(0, 300),
        secrets,
      )
        .replace(/\s+/g, " ")
        .trim();
      lastError = new HttpError(
        `${method} ${shown()} answered ${status}${excerpt ? `: ${excerpt.slice(0, 200)}` : ""}`,
        method,
        shown(),
        status,
        excerpt,
        attempt,
      );
      if (status === 401 && opts.onUnauthorized && !triedAuth) {
        triedAuth = true;
        // The body as received (text): the auth method reads what it needs of it.
        const answer = { status, headers: flatHeaders(response.headers), data: response.data, url: shown() };
        if (await opts.onUnauthorized(answer)) {
          attempt--; // a renewed login is not a retry of the request
          continue;
        }
      }
      if (!retryable(method, status, undefined, opts) || attempt >= attempts) break;
      const wait = waitAfter(response, attempt, opts);
      if (wait === undefined) {
        lastError = new HttpError(
          `${lastError.message} (it asked to wait longer than ${Math.round((opts.retryAfterCapMs ?? 60000) / 1000)} s, the cap)`,
          method,
          shown(),
          status,
          excerpt,
          attempt,
        );
        break;
      }
      // Everyone drawing from the instance's buckets holds off too (other workers included).
      if (status === 429) opts.limiter?.pause?.(wait);
      // A stop during the wait is caught at the top of the loop.
      await delay(wait, opts.signal);
      continue;
    }
    if (!retryable(method, undefined, code, opts) || attempt >= attempts) break;
    await delay(backoff(attempt, opts), opts.signal);
  }
  const error = lastError as HttpError;
  finish(error.status, error.message);
  // A 4xx other than 429 is the API's answer to this very request: refused. Otherwise, once
  // an attempt may have been acted on, nothing later proves it was not.
  const status = error.status;
  const refusedOutright = status !== undefined && status >= 400 && status < 500 && status !== 429;
  throw new HttpError(
    attempt > 1 ? `${error.message} (after ${attempt} attempts)` : error.message,
    method,
    error.url,
    error.status,
    error.excerpt,
    attempt,
    refusedOutright || !mayHaveLanded ? "refused" : "unknown",
  );
}

/**
 * Network errors, 429 and 5xx are retried; other 4xx are not. POST and PATCH could create a
 * second order, so they are retried only when the request never left, on 429 (refused before
 * any work), when they carry an idempotency key the API dedupes on (a declared header alone is
 * not enough: without the key the API cannot tell a retry from a new order), or when the
 * caller says the request only reads (a search by POST).
 */
export function retryable(
  method: string,
  status: number | undefined,
  code: string | undefined,
  opts: SendOptions,
): boolean {
  const safe = !!opts.safe || IDEMPOTENT.has(method) || (!!opts.idempotencyHeader && !!opts.idempotencyKey);
  if (status === undefined) return safe || NOT_SENT.has(code ?? "");
  if (status === 429) return true;
  if (status >= 500) return safe;
  return false;
}

function backoff(attempt: number, opts: SendOptions): number {
  const base = Math.min(opts.maxBackoffMs ?? 30000, (opts.backoffMs ?? 500) * 2 ** (attempt - 1));
  return Math.round(base * (0.5 + (opts.random ?? Math.random)() * 0.5));
}

/** The wait before the next try: Retry-After or the vendor's reset header, else backoff; undefined past the cap. */
function waitAfter(response: AxiosResponse, attempt: number, opts: SendOptions): number | undefined {
  const cap = opts.retryAfterCapMs ?? 60000;
  const headers = flatHeaders(response.headers);
  let wait = parseRetryAfter(headers["retry-after"]);
  if (wait === undefined && opts.resetHeader)
    wait = parseReset(headers[opts.resetHeader.name.toLowerCase()], opts.resetHeader.unit);
  if (wait === undefined) return backoff(attempt, opts);
  return wait > cap ? undefined : wait;
}

/** Retry-After: seconds, or an HTTP date. */
export function parseRetryAfter(value: string | undefined, now = Date.now()): number | undefined {
  if (value === undefined || value.trim() === "") return undefined;
  const v = value.trim();
  if (/^\d+(\.\d+)?$/.test(v)) return Math.ceil(Number(v) * 1000);
  const at = Date.parse(v);
  return Number.isNaN(at) ? undefined : Math.max(0, at - now);
}

function parseReset(
  value: string | undefined,
  unit: "seconds" | "epoch_s" | "epoch_ms",
  now = Date.now(),
): number | undefined {
  if (value === undefined || !/^\d+(\.\d+)?$/.test(value.trim())) return undefined;
  const n = Number(value);
  if (unit === "seconds") return Math.ceil(n * 1000);
  return Math.max(0, (unit === "epoch_s" ? n * 1000 : n) - now);
}

function toAxios(request: HttpRequest, opts: SendOptions): AxiosRequestConfig {
  const headers: Record<string, string> = { ...(request.headers ?? {}) };
  let data: unknown;
  if (request.body !== undefined) {
    switch (request.bodyFormat ?? "json") {
      case "form":
        data = new URLSearchParams(
          Object.entries(request.body as Record<string, unknown>).map(([k, v]) => [k, String(v)]),
        ).toString();
        headers["content-type"] ??= "application/x-www-form-urlencoded";
        break;
      case "xml":
        data = typeof request.body === "string" ? request.body : xmlBuilder.build(request.body);
        headers["content-type"] ??= "application/xml";
        break;
      case "text":
        data = String(request.body);
        headers["content-type"] ??= "text/plain";
        break;
      default:
        data = JSON.stringify(request.body);
        headers["content-type"] ??= "application/json";
    }
  }
  return {
    method: request.method,
    url: withQuery(request.url, request.query),
    headers,
    data,
    timeout: opts.timeoutMs ?? 30000,
    signal: opts.signal,
    // Every status comes back as a response: retries and errors are ours to decide.
    validateStatus: () => true,
    // The body as text: parsed here, by the format the endpoint declares.
    responseType: "text",
    transformResponse: [(d: unknown) => d],
    // Redirects are followed by sendRequest itself, which decides what may go along.
    maxRedirects: 0,
    httpsAgent: opts.httpsAgent,
    proxy: opts.proxy,
  };
}

/**
 * The request to send after a redirect, or why it is not followed. On the same origin it is
 * the request as sent (auth included); 303, and 301/302 after anything but GET or HEAD, turn
 * into a GET without a body, as browsers do. To another origin it is the request before auth
 * and signing were added, without secret-looking headers, and never with a body.
 */
export function redirectTo(
  original: HttpRequest,
  sent: HttpRequest,
  sentUrl: string,
  location: string,
  status: number,
  opts: Pick<SendOptions, "redirects" | "secrets">,
): (HttpRequest & { sameOrigin?: boolean }) | string {
  const policy = opts.redirects ?? "same-origin";
  let target: URL;
  try {
    target = new URL(location, sentUrl);
  } catch {
    return `it redirected to "${location}", which is not a URL`;
  }
  const shownTarget = redactUrl(target.toString(), opts.secrets ?? []);
  if (policy === "none") return `it redirected to ${shownTarget}, and this connector follows no redirects`;
  const method = sent.method.toUpperCase();
  const toGet =
    status === 303 || ((status === 301 || status === 302) && method !== "GET" && method !== "HEAD");
  const nextMethod = toGet ? "GET" : method;
  if (target.protocol !== "https:" && target.protocol !== "http:")
    return `it redirected to ${shownTarget}, which is not HTTP`;
  if (target.origin === new URL(sentUrl).origin) {
    // Auth and signing are applied again by the caller, for the new path.
    const { query: _query, ...rest } = original;
    return toGet
      ? { ...rest, method: nextMethod, url: target.toString(), body: undefined, sameOrigin: true }
      : { ...rest, url: target.toString(), sameOrigin: true };
  }
  if (policy !== "follow")
    return `it redirected to another origin (${target.origin}); not followed, so that credentials never leave ${new URL(sentUrl).origin}. If the API really moved, change the connector's address (or let it follow redirects elsewhere)`;
  if (nextMethod !== "GET" && nextMethod !== "HEAD")
    return `it redirected a ${method} to another origin (${target.origin}) keeping the method; not followed, as the body would go there too`;
  const headers: Record<string, string> = {};
  const secrets = (opts.secrets ?? []).filter((v) => v && v.length >= 4);
  for (const [name, value] of Object.entries(original.headers ?? {}))
    if (
      !isSecretKey(name) &&
      !/^(authorization|cookie|x-.*(key|token|auth|signature|secret).*)$/i.test(name) &&
      !secrets.some((v) => value.includes(v))
    )
      headers[name] = value;
  return { method: nextMethod, url: target.toString(), headers, responseFormat: original.responseFormat };
}

export function withQuery(url: string, query: Record<string, unknown> | undefined): string {
  if (!query) return url;
  const u = new URL(url);
  for (const [k, v] of Object.entries(query))
    if (v !== undefined && v !== null && v !== "") u.searchParams.set(k, String(v));
  return u.toString();
}

function parseBody(
  text: string,
  format: "json" | "xml" | "text",
  method: string,
  url: string,
  attempts = 1,
): unknown {
  if (format === "text") return text;
  if (text === "" || text === undefined) return undefined;
  if (format === "xml") {
    const parsed = xmlParser.parse(text) as { Envelope?: { Body?: { Fault?: Record<string, unknown> } } };
    // A SOAP fault is an error whatever the status code says.
    const fault = parsed?.Envelope?.Body?.Fault;
    if (fault) {
      const reason =
        fault.faultstring ?? (fault.Reason as { Text?: unknown } | undefined)?.Text ?? JSON.stringify(fault);
      throw new HttpError(
        `${method} ${url} answered a SOAP fault: ${typeof reason === "object" ? JSON.stringify(reason) : String(reason)}`,
        method,
        url,
        undefined,
        text.slice(0, 300),
        attempts,
      );
    }
    return parsed;
  }
  try {
    return JSON.parse(text);
  } catch {
    // A 2xx whose body cannot be read: the API may well have done the work.
    throw new HttpError(
      `${method} ${url} answered with a body that is not JSON: ${text.slice(0, 100)}`,
      method,
      url,
      200,
      text.slice(0, 300),
      attempts,
      "unknown",
    );
  }
}

function guessFormat(headers: AxiosResponse["headers"]): "json" | "xml" | "text" {
  const type = String(flatHeaders(headers)["content-type"] ?? "");
  if (/json/.test(type)) return "json";
  if (/xml/.test(type)) return "xml";
  return "text";
}

function flatHeaders(headers: AxiosResponse["headers"]): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(headers ?? {}))
    setKey(out, k.toLowerCase(), Array.isArray(v) ? v.join(", ") : String(v));
  return out;
}

/**
 * The messages of an Oracle-style problem-details answer (NetSuite: RFC 9457 with
 * `o:errorDetails[].detail` and `o:errorCode`), which a plain excerpt would cut before them.
 */
function problemDetails(data: unknown): string | undefined {
  let body = data;
  if (typeof body === "string") {
    if (!body.includes("o:errorDetails")) return undefined;
    try {
      body = JSON.parse(body);
    } catch {
      return undefined;
    }
  }
  const details = (body as { "o:errorDetails"?: unknown } | null)?.["o:errorDetails"];
  if (!Array.isArray(details) || details.length === 0) return undefined;
  return details
    .map((d: { detail?: unknown; "o:errorCode"?: unknown; "o:errorPath"?: unknown }) =>
      [
        String(d?.detail ?? ""),
        d?.["o:errorCode"]
          ? `(${String(d["o:errorCode"])}${d["o:errorPath"] ? ` at ${String(d["o:errorPath"])}` : ""})`
          : "",
      ]
        .filter(Boolean)
        .join(" "),
    )
    .join("; ")
    .slice(0, 300);
}
