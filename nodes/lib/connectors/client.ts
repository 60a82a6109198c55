import type { Agent as HttpsAgent } from "node:https";
import { paginate, type Page } from "../http/pagination";
import { limiterFor, type Limit, type RateLimiter } from "../http/rate-limit";
import { maskSecrets } from "../redact";
import {
  HttpError,
  sendRequest,
  type HttpRequest,
  type HttpResponse,
  type SendOptions,
} from "../http/request";
import type { RequestRecord } from "../records";
import { compileTemplate, type Escaping, type Template, type TemplateView } from "../templates";
import { createAuthenticator, joinUrl, TOKEN_MARKER, type AuthContext, type Authenticator } from "./auth";
import { endpointOf, type ConnectorDefinition, type Endpoint } from "./definition";
import { setKey } from "../keys";

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
}

export interface SendResult {
  ok: Array<{ records: unknown[]; response: unknown; status: number }>;
  failed: Array<{ records: unknown[]; error: string; status?: number }>;
}

export class ConnectorClient {
  private readonly limiter: RateLimiter;
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
    const missing = (def.variables ?? []).filter(
      (v) => v.required && (instance.vars[v.key] === undefined || instance.vars[v.key] === ""),
    );
    if (missing.length)
      throw new Error(`the instance of ${def.name} needs ${missing.map((v) => `"${v.label}"`).join(", ")}`);
    this.secretValues = (def.variables ?? [])
      .filter((v) => v.secret)
      .map((v) => String(instance.vars[v.key] ?? ""))
      .filter((s) => s.length >= 4);
    const vars = {
      ...Object.fromEntries((def.variables ?? []).map((v) => [v.key, v.default])),
      ...instance.vars,
    };
    const varView = { vars } as unknown as TemplateView;
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
    this.auth = createAuthenticator(method, {
      render: (t, escaping) => this.template(t, escaping ?? "none")(varView),
      vars,
      tokens: extra.tokens,
      baseUrl: this.baseUrl,
      send: (request) =>
        sendRequest(request, { ...this.base({}), prepare: undefined, onUnauthorized: undefined }),
    });
    this.vars = vars;
  }

  private readonly vars: Record<string, unknown>;

  endpoint(id: string): Endpoint {
    return endpointOf(this.def, id);
  }

  /** Pages of records from a receive endpoint. */
  async *receive(endpointId: string, opts: CallOptions = {}): AsyncGenerator<Page> {
    const endpoint = this.endpoint(endpointId);
    if (endpoint.direction !== "receive")
      throw new Error(`"${endpoint.name}" is a send endpoint: use it to send records`);
    const request = this.request(endpoint, opts, undefined);
    const send = (r: HttpRequest) => sendRequest(r, this.base(opts));
    const pagination = opts.firstPageOnly
      ? { type: "none" as const }
      : (endpoint.pagination ?? { type: "none" as const });
    yield* paginate(request, pagination, send, {
      recordsPath: endpoint.records,
      maxPages: opts.maxPages ?? endpoint.pagination?.maxPages,
    });
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
    const groups: unknown[][] = [];
    for (let i = 0; i < records.length; i += size) groups.push(records.slice(i, i + size));
    const result: SendResult = { ok: [], failed: [] };
    const outcomes: Array<SendResult["ok"][number] | (SendResult["failed"][number] & { bad: true })> =
      new Array(groups.length);
    let next = 0;
    const worker = async () => {
      while (next < groups.length) {
        const at = next++;
        const group = groups[at];
        try {
          const request = this.request(endpoint, opts, endpoint.batch ? group : group[0], !!endpoint.batch);
          const response: HttpResponse = await sendRequest(request, this.base(opts));
          outcomes[at] = { records: group, response: response.data, status: response.status };
        } catch (err) {
          const e = err as HttpError;
          outcomes[at] = { records: group, error: this.show(e.message), status: e.status, bad: true };
        }
      }
    };
    await Promise.all(
      Array.from({ length: Math.max(1, Math.min(opts.concurrency ?? 1, groups.length)) }, worker),
    );
    // In the order the records came, whatever order the answers came in.
    for (const o of outcomes) {
      if ("bad" in o) result.failed.push({ records: o.records, error: o.error, status: o.status });
      else result.ok.push(o);
    }
    return result;
  }

  /** Values never to show: secret variables and tokens fetched. */
  secrets(): string[] {
    return [...this.secretValues, ...this.auth.secrets()];
  }

  private base(opts: CallOptions): SendOptions {
    return {
      attempts: opts.attempts ?? this.instance.attempts ?? this.def.retry?.attempts ?? 3,
      timeoutMs: opts.timeoutMs ?? this.instance.timeoutMs ?? 30000,
      limiter: this.limiter,
      signal: opts.signal,
      record: opts.record,
      secrets: this.secrets(),
      prepare: (r) => this.auth.prepare(r),
      onUnauthorized: () => this.auth.renew(),
      resetHeader: this.def.retry?.resetHeader,
      idempotencyHeader: this.def.retry?.idempotencyHeader,
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
    } as unknown as TemplateView;
    const query: Record<string, unknown> = {};
    const headers: Record<string, string> = {};
    // Names from the connector definition are data: setKey keeps a "__proto__" one a plain key.
    for (const [k, v] of Object.entries(this.def.headers ?? {})) setKey(headers, k, this.template(v)(view));
    for (const [k, v] of Object.entries(endpoint.headers ?? {})) setKey(headers, k, this.template(v)(view));
    for (const [k, v] of Object.entries(endpoint.query ?? {})) setKey(query, k, this.template(v)(view));
    for (const p of endpoint.parameters ?? []) {
      const value = params[p.key];
      if (value === undefined || value === null || value === "") {
        if (p.required) throw new Error(`"${endpoint.name}" needs the parameter "${p.label}"`);
        continue;
      }
      if (p.in === "query") setKey(query, p.key, value);
      else if (p.in === "header") setKey(headers, p.key, String(value));
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

/** A body template: strings rendered; a string that is exactly {{record}} places the record itself, as data. */
function renderBody(value: unknown, view: TemplateView, template: (t: string) => Template): unknown {
  if (typeof value === "string") {
    if (/^\{\{\s*record\s*\}\}$/.test(value)) return (view as unknown as { record: unknown }).record;
    return template(value)(view);
  }
  if (Array.isArray(value)) return value.map((v) => renderBody(v, view, template));
  if (value && typeof value === "object")
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, renderBody(v, view, template)]));
  return value;
}
