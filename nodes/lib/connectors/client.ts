import { createHash } from "node:crypto";
import type { Agent as HttpsAgent } from "node:https";
import { PAGE_MARKER, paginate, type Page, type Pagination, type ResumePoint } from "../http/pagination";
import { recordsCsv } from "../csv";
import { compileAnswerCheck, type AnswerCheck } from "./answer-errors";
import { limiterFor, type Limit, type Limiter } from "../http/rate-limit";
import { compileCostLimit, costBucketFor, type CostLimiter, type CostReader } from "../http/cost-limit";
import { delay } from "../delay";
import { maskSecrets } from "../redact";
import {
  HttpError,
  sendRequest,
  type HttpRequest,
  type HttpResponse,
  type Outcome,
  type SendOptions,
} from "../http/request";
import type { RequestRecord } from "../records";
import { compileTemplate, lookupObject, type Escaping, type Template, type TemplateView } from "../templates";
import { createAuthenticator, joinUrl, TOKEN_MARKER, type AuthContext, type Authenticator } from "./auth";
import { endpointOf, type ConnectorDefinition, type Endpoint } from "./definition";
import { setKey } from "../keys";
import { compileResults, traced, type ResultsSplitter } from "./results";
import { checkParameter, pathPlaceholders } from "./parameters";

/**
 * Tries per page of a pull, and the backoff between them. A page only reads (a GET, or a
 * search or GraphQL query sent by POST), so it is safe to repeat, and one page that gives up
 * fails the whole pull: with 30% of requests failing for a while,
 * 3 tries lose a page in 2.7% of cases (a pull of 80 pages then fails 9 times in 10), 8 tries
 * in 0.007% (it succeeds 995 times in 1000, and a Retry resumes the rest). Waits of 0.5, 1,
 * 2, 4 then 8 s (with jitter) ride out a short outage in about 30 s, no more.
 */
export const PAGE_ATTEMPTS = 8;
export const PAGE_BACKOFF_MS = 500;
export const PAGE_MAX_BACKOFF_MS = 8000;
/** Tries per send request when nothing says otherwise. */
export const SEND_ATTEMPTS = 3;

/**
 * One instance of a connector, ready to call its endpoints: its variables and secrets, its
 * auth, and the rate limit every shape using the instance shares. Receive endpoints page;
 * send endpoints take records one by one or in batches and report each failure with its
 * records, so nothing is lost silently.
 */
export interface Instance {
  /** Shapes using the same instance share its rate limit. */
  id: string;
  /** Every variable's value, secrets included. */
  vars: Record<string, unknown>;
  /** Which auth method of the connector (default the first). */
  auth?: number;
  rateLimit?: Limit[];
  timeoutMs?: number;
  attempts?: number;
}

export interface CallOptions {
  /** The endpoint's optional parameters, as the shape set them. */
  params?: Record<string, unknown>;
  /** The message's template view (payload, meta, flow, env, run). */
  view?: () => TemplateView;
  signal?: AbortSignal;
  record?: (request: RequestRecord) => void;
  timeoutMs?: number;
  attempts?: number;
  maxPages?: number;
  /** Just the first page (a connection test). */
  firstPageOnly?: boolean;
  /** Receive: go on from this point of an earlier pull (a checkpoint) instead of the first page. */
  resume?: ResumePoint;
  /** Receive: records per page instead of the endpoint's own (see withPageSize). */
  pageSize?: number;
}

/**
 * What became of a send. `ok`: requests the API accepted, with their answers (records the
 * answer reported as failed are left out of `records`). `failed`: records that did not go
 * through, each group with its error and outcome: `refused` (a 4xx or a per-record error:
 * fix and resend) or `unknown` (it may have been accepted).
 */
export interface SendResult {
  ok: Array<{ records: unknown[]; response: unknown; status: number }>;
  failed: Array<{ records: unknown[]; error: string; status?: number; outcome: Outcome }>;
}

/**
 * What an instance lacks to be used: the required variables (secret ones included) without a
 * value, in one sentence, or undefined. The client refuses to start without them, and the
 * editor flags an instance by the same rule (pw/editor/check, kind "instance").
 */
export function missingVariables(
  def: ConnectorDefinition,
  vars: Record<string, unknown>,
  auth = 0,
): string | undefined {
  // A variable an auth method uses is needed only when that method is the one chosen.
  const usedBy = (key: string) =>
    def.auth.flatMap((a, i) => (new RegExp(`vars\\.${key}\\b`).test(JSON.stringify(a)) ? [i] : []));
  const missing = (def.variables ?? []).filter((v) => {
    if (!v.required || (vars[v.key] !== undefined && vars[v.key] !== "")) return false;
    const users = usedBy(v.key);
    const elsewhere = JSON.stringify([def.baseUrl, def.headers ?? {}, def.endpoints]).includes(
      `vars.${v.key}`,
    );
    return users.length === 0 || users.includes(auth) || elsewhere;
  });
  if (missing.length === 0) return undefined;
  return `the instance of ${def.name} needs ${missing.map((v) => `"${v.label}"`).join(", ")}`;
}

/** The query parameters that set a page's size when the pagination names none: the usual names. */
const PAGE_SIZE_KEYS = ["limit", "per_page", "page_size", "pageSize", "perPage", "count"];

/**
 * A pull's first request and pagination with `size` records a page: the pagination's own size
 * parameter (page, offset) or the endpoint's fixed query value of a usual name (Shopify's
 * `limit=250`). Throws when the endpoint has no page size to set.
 */
export function withPageSize(
  endpoint: Endpoint,
  request: HttpRequest,
  size: number | undefined,
): { request: HttpRequest; pagination: Pagination } {
  const pagination: Pagination = endpoint.pagination ?? { type: "none" };
  if (size === undefined) return { request, pagination };
  if (!Number.isInteger(size) || size < 1)
    throw new RequestShapeError(`the page size must be a whole number of 1 or more, not ${String(size)}`);
  if (pagination.type === "page" && pagination.sizeParam)
    return { request, pagination: { ...pagination, pageSize: size } };
  if (pagination.type === "offset") return { request, pagination: { ...pagination, limit: size } };
  const key = PAGE_SIZE_KEYS.find((k) => Object.hasOwn(endpoint.query ?? {}, k));
  if (!key)
    throw new RequestShapeError(
      `"${endpoint.name}" has no page size that can be set (no ${PAGE_SIZE_KEYS.join("/")} query parameter and a pagination without a size); leave the page size blank`,
    );
  return { request: { ...request, query: { ...request.query, [key]: size } }, pagination };
}

export class ConnectorClient {
  private readonly limiter: Limiter;
  private readonly auth: Authenticator;
  private readonly baseUrl: string;
  private readonly secretValues: string[];
  private readonly templates = new Map<string, Template>();

  constructor(
    readonly def: ConnectorDefinition,
    readonly instance: Instance,
    private readonly extra: {
      httpsAgent?: HttpsAgent;
      proxy?: SendOptions["proxy"];
      tokens?: AuthContext["tokens"];
    } = {},
  ) {
    const missing = missingVariables(def, instance.vars, instance.auth ?? 0);
    if (missing) throw new Error(missing);
    this.secretValues = (def.variables ?? [])
      .filter((v) => v.secret)
      .map((v) => String(instance.vars[v.key] ?? ""))
      .filter((s) => s.length >= 4)
      .flatMap((s) => [s, Buffer.from(s).toString("base64")]);
    const vars = {
      ...Object.fromEntries((def.variables ?? []).map((v) => [v.key, v.default])),
      ...instance.vars,
    };
    // Auth templates may need a variable base64-encoded ({{base64.password}}: Peoplevox's Authenticate).
    const base64 = lookupObject((k) =>
      vars[k] === undefined || vars[k] === null ? undefined : Buffer.from(String(vars[k])).toString("base64"),
    );
    const varView = { vars, base64 } as unknown as TemplateView;
    this.baseUrl = this.template(def.baseUrl)(varView);
    try {
      new URL(this.baseUrl);
    } catch {
      throw new Error(
        `the base URL of ${def.name} comes out as "${this.show(this.baseUrl)}", which is not a URL: check the instance's variables`,
      );
    }
    const methods = def.auth;
    const method = methods[instance.auth ?? 0];
    if (!method) throw new Error(`${def.name} has no auth method ${instance.auth}`);
    this.limiter = limiterFor(instance.id, instance.rateLimit ?? def.rateLimit ?? []);
    if (def.costLimit) {
      this.costReader = compileCostLimit(def.costLimit);
      this.costBucket = costBucketFor(instance.id);
    }
    if (def.answerError) this.answerCheck = compileAnswerCheck(def.answerError);
    this.auth = createAuthenticator(method, {
      render: (t, escaping) => this.template(t, escaping ?? "none")(varView),
      vars,
      tokens: extra.tokens,
      baseUrl: this.baseUrl,
      send: async (request) => {
        const response = await sendRequest(request, {
          ...this.base({}),
          prepare: undefined,
          onUnauthorized: undefined,
        });
        // A login the API refused in a 200 answer (a wrong password) fails with its reason.
        const failure = this.answerCheck?.(response.data);
        if (failure)
          throw new Error(
            this.show(
              `${request.method} ${response.url} answered ${response.status} with an error: ${failure.message}`,
            ),
          );
        return response;
      },
    });
    this.vars = vars;
  }

  private readonly vars: Record<string, unknown>;
  private readonly answerCheck?: AnswerCheck;

  endpoint(id: string): Endpoint {
    return endpointOf(this.def, id);
  }

  /** Pages of records from a receive endpoint. */
  async *receive(endpointId: string, opts: CallOptions = {}): AsyncGenerator<Page> {
    const endpoint = this.endpoint(endpointId);
    if (endpoint.direction !== "receive")
      throw new Error(`"${endpoint.name}" is a send endpoint: use it to send records`);
    const sized = withPageSize(endpoint, this.request(endpoint, opts, undefined), opts.pageSize);
    let request = sized.request;
    const paging = endpoint.pagination;
    // A first page alone (a connection test) still needs its number where the body says so.
    if (opts.firstPageOnly && paging?.type === "page" && typeof request.body === "string")
      request = { ...request, body: request.body.split(PAGE_MARKER).join(String(paging.startPage ?? 1)) };
    const base: SendOptions = {
      ...this.base(opts, PAGE_ATTEMPTS),
      backoffMs: PAGE_BACKOFF_MS,
      maxBackoffMs: PAGE_MAX_BACKOFF_MS,
      // A page is a read whatever its method (a SOAP or search POST): safe to try again after a 5xx.
      safe: true,
    };
    const send = (r: HttpRequest) => this.call(endpoint, r, base);
    const pagination = opts.firstPageOnly ? { type: "none" as const } : sized.pagination;
    yield* paginate(request, pagination, send, {
      recordsPath: endpoint.records,
      recordsFormat: endpoint.recordsFormat,
      maxPages: opts.maxPages ?? endpoint.pagination?.maxPages,
      resume: opts.firstPageOnly ? undefined : opts.resume,
    });
  }

  /**
   * What identifies one pull of a receive endpoint: its first request (method, URL, query,
   * body), hashed. A Retry with the same input renders the same first request, so it finds
   * the checkpoint the failed pull left; a pull whose filters changed starts afresh.
   */
  pullKey(endpointId: string, opts: CallOptions = {}): string {
    const endpoint = this.endpoint(endpointId);
    const r = withPageSize(endpoint, this.request(endpoint, opts, undefined), opts.pageSize).request;
    return createHash("sha256")
      .update(JSON.stringify([r.method, r.url, r.query, r.body]))
      .digest("base64url")
      .slice(0, 16);
  }

  /**
   * A resume point fit to keep with the run: a next-page URL loses any query value that is a
   * secret (the auth adds it again on each request), and anything else secret is masked.
   */
  checkpointOf(point: ResumePoint): ResumePoint {
    if (point.url === undefined) return point;
    const secrets = this.secrets();
    const url = new URL(point.url);
    for (const [k, v] of [...url.searchParams]) if (secrets.includes(v)) url.searchParams.delete(k);
    return { ...point, url: maskSecrets(url.toString(), secrets) };
  }

  /** Sends records (one request each, or batches up to the endpoint's size) with at most `concurrency` requests at once. */
  async send(
    endpointId: string,
    records: unknown[],
    opts: CallOptions & { concurrency?: number } = {},
  ): Promise<SendResult> {
    const endpoint = this.endpoint(endpointId);
    if (endpoint.direction !== "send")
      throw new Error(`"${endpoint.name}" is a receive endpoint: use it to pull records`);
    const size = endpoint.batch?.size ?? 1;
    const split = this.splitterFor(endpoint);
    const trace = endpoint.results?.match?.by === "trace" ? endpoint.results.match.field : undefined;
    const keyTemplate = this.def.retry?.idempotencyHeader ? this.def.retry.idempotencyKey : undefined;
    const defaults = endpoint.defaults;
    const groups: unknown[][] = [];
    for (let i = 0; i < records.length; i += size) groups.push(records.slice(i, i + size));
    const result: SendResult = { ok: [], failed: [] };
    const outcomes: Array<{ ok?: SendResult["ok"][number]; failed: SendResult["failed"] }> = new Array(
      groups.length,
    );
    let next = 0;
    const worker = async () => {
      while (next < groups.length) {
        const at = next++;
        const group = groups[at];
        try {
          // Records are never changed in place: filled-in and traced records are new objects.
          const filled = defaults ? group.map((r) => withDefaults(r, defaults)) : group;
          const sent = trace ? filled.map((r, i) => traced(r, trace, i)) : filled;
          const record = endpoint.batch ? sent : sent[0];
          const request = this.request(endpoint, opts, record, !!endpoint.batch);
          const options = this.base(opts, SEND_ATTEMPTS);
          if (keyTemplate) options.idempotencyKey = this.idempotencyKey(keyTemplate, opts, record);
          const response: HttpResponse = await this.call(endpoint, request, options);
          const errors = split ? split(response.data, group) : [];
          if (errors.length === 0) {
            outcomes[at] = {
              ok: { records: group, response: answerOf(response), status: response.status },
              failed: [],
            };
            continue;
          }
          if (endpoint.results?.atomic) {
            // Nothing of the request was applied: the records not named are refused too.
            const named = new Set(errors.map((e) => e.index));
            for (let i = 0; i < group.length; i++)
              if (!named.has(i))
                errors.push({
                  index: i,
                  error: `not applied: the API applies this request whole or not at all, and it refused another record of it (${errors[0].error}); resend this one`,
                  matched: true,
                });
            errors.sort((a, b) => a.index - b.index);
          }
          const bad = new Set(errors.map((e) => e.index));
          const ok = group.filter((_, i) => !bad.has(i));
          outcomes[at] = {
            ok: ok.length
              ? { records: ok, response: answerOf(response), status: response.status }
              : undefined,
            failed: errors.map((e) => ({
              records: [group[e.index]],
              error: this.show(
                `${request.method} ${this.show(request.url)} answered ${response.status} with an error for record ${e.index + 1} of ${group.length}: ${e.error}`,
              ),
              status: response.status,
              outcome: e.matched ? "refused" : "unknown",
            })),
          };
        } catch (err) {
          const e = err as HttpError;
          // Refused before sending: say which records, as the API never saw them.
          const which =
            e instanceof RequestShapeError
              ? group.length === 1
                ? `record ${at * size + 1} of ${records.length}: `
                : `records ${at * size + 1} to ${at * size + group.length} of ${records.length}: `
              : "";
          outcomes[at] = {
            failed: [
              {
                records: group,
                error: this.show(which + e.message),
                status: e.status,
                outcome: e instanceof HttpError ? e.outcome : "refused",
              },
            ],
          };
        }
      }
    };
    await Promise.all(
      Array.from({ length: Math.max(1, Math.min(opts.concurrency ?? 1, groups.length)) }, worker),
    );
    // In the order the records came, whatever order the answers came in.
    for (const o of outcomes) {
      if (o.ok) result.ok.push(o.ok);
      result.failed.push(...o.failed);
    }
    return result;
  }

  private readonly costReader?: CostReader;
  private readonly costBucket?: CostLimiter;
  /** What each endpoint's query asked for last time: what its next request is expected to cost. */
  private readonly costs = new Map<string, number>();

  /**
   * One request, within the API's cost limit when the connector declares one: waits until
   * the bucket holds the expected cost, reads the bucket from the answer, and tries a
   * THROTTLED answer again once the bucket has refilled (a throttled query did not run, so
   * this is safe for mutations too). A GraphQL answer with errors and no data is an error.
   */
  private async call(endpoint: Endpoint, request: HttpRequest, options: SendOptions): Promise<HttpResponse> {
    const attempts = Math.max(1, options.attempts ?? SEND_ATTEMPTS);
    let relogged = false;
    for (let tries = 1; ; tries++) {
      let release = () => {};
      if (this.costBucket) {
        try {
          release = await this.costBucket.acquire(this.costs.get(endpoint.id) ?? 0, options.signal);
        } catch {
          throw new HttpError(
            `${request.method} ${this.show(request.url)} was stopped while waiting for the API's cost limit`,
            request.method,
            this.show(request.url),
          );
        }
      }
      let response: HttpResponse;
      try {
        response = await sendRequest(request, options);
      } finally {
        release();
      }
      const reading = this.costReader?.(response.data);
      if (reading && this.costBucket) {
        this.costBucket.update(reading);
        if (reading.requested !== undefined) this.costs.set(endpoint.id, reading.requested);
        if (reading.throttled) {
          const wait = this.costBucket.throttledWait(reading);
          if (tries >= attempts || wait > 60000)
            throw new HttpError(
              `${request.method} ${response.url} was throttled by the API's cost limit ${tries} time(s) (the query costs ${reading.requested ?? "?"} points; ${reading.available} of ${reading.maximum} were left, restoring ${reading.restoreRate} a second): ask for fewer records per page, or give it more tries`,
              request.method,
              response.url,
              response.status,
              undefined,
              tries,
              "refused",
            );
          if (!(await delay(wait, options.signal)))
            throw new HttpError(
              `${request.method} ${response.url} was stopped while waiting for the API's cost limit`,
              request.method,
              response.url,
            );
          continue;
        }
      }
      const failure = this.answerCheck?.(response.data);
      if (failure) {
        // The session expired although the status says 200: log in again once, as after a 401.
        if (failure.sessionExpired && !relogged) {
          relogged = true;
          if (await this.auth.renew()) {
            tries--;
            continue;
          }
        }
        throw new HttpError(
          this.show(
            `${request.method} ${response.url} answered ${response.status} with an error: ${failure.message}`,
          ),
          request.method,
          response.url,
          response.status,
          undefined,
          tries,
          "refused",
        );
      }
      const data = response.data as { data?: unknown; errors?: unknown } | undefined;
      const graphql = typeof (request.body as { query?: unknown } | undefined)?.query === "string";
      if (
        graphql &&
        Array.isArray(data?.errors) &&
        data.errors.length > 0 &&
        (data.data === undefined || data.data === null)
      )
        throw new HttpError(
          this.show(
            `${request.method} ${response.url} answered ${response.status} with GraphQL errors: ${data.errors
              .slice(0, 3)
              .map((e) => String((e as { message?: unknown })?.message ?? JSON.stringify(e)).slice(0, 200))
              .join("; ")}`,
          ),
          request.method,
          response.url,
          response.status,
          undefined,
          tries,
          "refused",
        );
      return response;
    }
  }

  private readonly splitters = new Map<string, ResultsSplitter | undefined>();

  private splitterFor(endpoint: Endpoint): ResultsSplitter | undefined {
    if (!endpoint.results) return undefined;
    let split = this.splitters.get(endpoint.id);
    if (!split) this.splitters.set(endpoint.id, (split = compileResults(endpoint.results)));
    return split;
  }

  /** The connector's key template rendered for one request; empty renders fall back to a random key. */
  private idempotencyKey(template: string, opts: CallOptions, record: unknown): string | undefined {
    const view = {
      ...(opts.view?.() ?? {}),
      vars: this.vars,
      params: opts.params ?? {},
      record,
    } as unknown as TemplateView;
    const key = this.template(template)(view).trim();
    return key === "" ? undefined : key;
  }

  /** Values never to show: secret variables and tokens fetched. */
  secrets(): string[] {
    return [...this.secretValues, ...this.auth.secrets()];
  }

  private base(opts: CallOptions, attempts = SEND_ATTEMPTS): SendOptions {
    return {
      attempts: opts.attempts ?? this.instance.attempts ?? this.def.retry?.attempts ?? attempts,
      timeoutMs: opts.timeoutMs ?? this.instance.timeoutMs ?? 30000,
      limiter: this.limiter,
      signal: opts.signal,
      record: opts.record,
      secrets: this.secrets(),
      prepare: (r) => this.auth.prepare(r),
      onUnauthorized: (response) => this.auth.renew(response),
      resetHeader: this.def.retry?.resetHeader,
      idempotencyHeader: this.def.retry?.idempotencyHeader,
      redirects: this.def.redirects,
      httpsAgent: this.extra.httpsAgent,
      proxy: this.extra.proxy,
    };
  }

  private request(endpoint: Endpoint, opts: CallOptions, record: unknown, batch = false): HttpRequest {
    const params = opts.params ?? {};
    const view = {
      ...(opts.view?.() ?? {}),
      vars: this.vars,
      params,
      record,
      auth: { token: TOKEN_MARKER },
      // Page paging in the body: each page's request puts its number where the marker is.
      ...(endpoint.pagination?.type === "page" && endpoint.pagination.in === "body"
        ? { page: { number: PAGE_MARKER, size: endpoint.pagination.pageSize } }
        : {}),
      ...(endpoint.csv && record !== undefined
        ? { csv: recordsCsv(Array.isArray(record) ? record : [record], endpoint.csv.columns) }
        : {}),
    } as unknown as TemplateView;
    const query: Record<string, unknown> = {};
    const headers: Record<string, string> = {};
    // Names from the connector definition are data: setKey keeps a "__proto__" one a plain key.
    for (const [k, v] of Object.entries(this.def.headers ?? {})) setKey(headers, k, this.template(v)(view));
    for (const [k, v] of Object.entries(endpoint.headers ?? {})) setKey(headers, k, this.template(v)(view));
    for (const [k, v] of Object.entries(endpoint.query ?? {})) setKey(query, k, this.template(v)(view));
    const checked: Record<string, unknown> = {};
    for (const p of endpoint.parameters ?? []) {
      let value = Object.prototype.hasOwnProperty.call(params, p.key) ? params[p.key] : undefined;
      if ((value === undefined || value === null || value === "") && p.required) value = p.default;
      if (value === undefined || value === null || value === "") {
        if (p.required)
          throw new RequestShapeError(
            `"${endpoint.name}" needs the parameter "${p.label}": set it in the shape's filters and parameters`,
          );
        continue;
      }
      try {
        value = checkParameter(p, value);
      } catch (err) {
        throw new RequestShapeError(
          `"${endpoint.name}": ${(err as Error).message}; nothing was sent. Fix it in the shape's filters and parameters`,
        );
      }
      setKey(checked, p.key, value);
      // "body": the value only feeds the body template, through params.
      if (p.in === "query") setKey(query, p.key, value);
      else if (p.in === "header") setKey(headers, p.key, String(value));
    }
    // Path templates see the checked values (a date given as a Date object, as text).
    (view as unknown as { params: Record<string, unknown> }).params = { ...params, ...checked };
    // A value placed in the path that is empty would call another resource (PUT /orders/.json).
    for (const { tag, get } of this.placeholders(endpoint)) {
      const v = get(view);
      if (v === undefined || v === null || (typeof v === "string" && v.trim() === ""))
        throw new RequestShapeError(
          `"${endpoint.name}": the path ${endpoint.path} needs ${tag}, which is ${v === undefined || v === null ? "missing" : "empty"}${tag.startsWith("record.") ? " in this record" : ""}; nothing was sent. ${tag.startsWith("record.") ? `Give each record its "${tag.slice(7)}"` : tag.startsWith("params.") ? `Set the parameter "${tag.slice(7)}"` : "Check the value"}`,
        );
      if (typeof v === "object")
        throw new RequestShapeError(
          `"${endpoint.name}": the path ${endpoint.path} needs ${tag} to be a single value, not a list or an object; nothing was sent`,
        );
    }
    const path = this.template(endpoint.path, "url")(view);
    let body: unknown;
    if (endpoint.direction === "send") {
      if (endpoint.body !== undefined)
        body = renderBody(endpoint.body, view, (t) =>
          this.template(t, endpoint.bodyFormat === "xml" ? "xml" : "none"),
        );
      else if (batch && endpoint.batch?.wrap) body = { [endpoint.batch.wrap]: record };
      else if (!batch && endpoint.wrap) body = { [endpoint.wrap]: record };
      else body = record;
    } else if (endpoint.body !== undefined) {
      body = renderBody(endpoint.body, view, (t) =>
        this.template(t, endpoint.bodyFormat === "xml" ? "xml" : "none"),
      );
    }
    return {
      method: endpoint.method,
      url: joinUrl(this.baseUrl, path),
      query,
      headers,
      body,
      bodyFormat: endpoint.bodyFormat,
      responseFormat: endpoint.format,
    };
  }

  private readonly placeholderCache = new Map<string, ReturnType<typeof pathPlaceholders>>();

  private placeholders(endpoint: Endpoint): ReturnType<typeof pathPlaceholders> {
    let found = this.placeholderCache.get(endpoint.id);
    if (!found) this.placeholderCache.set(endpoint.id, (found = pathPlaceholders(endpoint.path)));
    return found;
  }

  private template(text: string, escaping: Escaping = "none"): Template {
    const key = `${escaping}:${text}`;
    let t = this.templates.get(key);
    if (!t) this.templates.set(key, (t = compileTemplate(text, escaping)));
    return t;
  }

  private show(text: string): string {
    return maskSecrets(text, this.secrets());
  }
}

/** A request the engine refuses to build (a parameter the API would refuse, an empty path value): never sent. */
export class RequestShapeError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "RequestShapeError";
  }
}

/** The record with the endpoint's required fields filled in where it has none: a new object. */
function withDefaults(record: unknown, defaults: Record<string, unknown>): unknown {
  if (!record || typeof record !== "object" || Array.isArray(record)) return record;
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(defaults)) setKey(out, k, structuredClone(v));
  for (const [k, v] of Object.entries(record as Record<string, unknown>)) setKey(out, k, v);
  return out;
}

/**
/**
 * What a send answered: its body, or, for an answer without one (NetSuite's 204 after a create,
 * 202 for an asynchronous job), the Location header that names what was made.
 */
function answerOf(response: { data: unknown; headers: Record<string, unknown> }): unknown {
  const empty = response.data === undefined || response.data === null || response.data === "";
  const location = response.headers?.location;
  return empty && typeof location === "string" ? { location } : response.data;
}

/**
 * A body template: strings rendered; a string that is exactly {{record}} places the record itself,
 * as data; exactly {{record.path}} places that value as data when it is an object or a list
 * (JSON:API bodies: "attributes": "{{record.attributes}}"); exactly {{params.key}} places the
 * parameter's checked value as data (an integer stays a number, a json parameter stays an
 * object), and a field holding one is left out when the shape did not set it.
 */
function renderBody(value: unknown, view: TemplateView, template: (t: string) => Template): unknown {
  if (typeof value === "string") {
    const record = (view as unknown as { record: unknown }).record;
    if (/^\{\{\s*record\s*\}\}$/.test(value)) return record;
    const path = /^\{\{\s*record\.([A-Za-z_$][\w$]*(?:\.[A-Za-z_$][\w$]*)*)\s*\}\}$/.exec(value);
    if (path) {
      let v: unknown = record;
      for (const k of path[1].split(".")) {
        if (!v || typeof v !== "object" || !Object.prototype.hasOwnProperty.call(v, k)) {
          v = undefined;
          break;
        }
        v = (v as Record<string, unknown>)[k];
      }
      if (v && typeof v === "object") return v;
    }
    const param = /^\{\{\s*params\.([\w$-]+)\s*\}\}$/.exec(value);
    if (param) {
      const params = (view as unknown as { params?: Record<string, unknown> }).params ?? {};
      const got = Object.prototype.hasOwnProperty.call(params, param[1]) ? params[param[1]] : undefined;
      return got === undefined || got === null || got === "" ? undefined : got;
    }
    return template(value)(view);
  }
  if (Array.isArray(value)) return value.map((v) => renderBody(v, view, template));
  if (value && typeof value === "object")
    return Object.fromEntries(
      Object.entries(value)
        .map(([k, v]) => [k, renderBody(v, view, template)])
        .filter(([, v]) => v !== undefined),
    );
  return value;
}
