import {
  checkTimeZone,
  compileSchedule,
  DEFAULT_TZ,
  type CompiledSchedule,
  type ScheduleSpec,
} from "./schedule";
import { HUBSPOT_MAX_AGE_MS, type WebhookAuth } from "./webhook/signature";
import { normalisePath } from "./webhook/routes";
import { parseSize } from "./webhook/body";
import { compileTemplate, type Template } from "./templates";

/** The trigger shape's saved settings, as the editor writes them. */
export interface TriggerSettings {
  schedules?: ScheduleSpec[];
  webhook?: boolean;
  path?: string;
  methods?: string;
  auth?: "none" | "token-query" | "token-header" | "shopify" | "hubspot" | "tiktok" | "hmac";
  tokenName?: string;
  tiktokAppKey?: string;
  hmacHeader?: string;
  hmacAlgorithm?: "sha1" | "sha256" | "sha512";
  hmacEncoding?: "hex" | "base64";
  hmacPrefix?: string;
  hmacSigns?: "body" | "timestamp.body";
  hmacTimestampHeader?: string;
  maxAgeSec?: number | string;
  /** Accept empty bodies under a signature of the body alone (they prove nothing). */
  allowEmptySigned?: boolean;
  bodyLimit?: string;
  replyMode?: "immediate" | "wait";
  replyStatus?: number | string;
  replyType?: "json" | "xml" | "text";
  replyBody?: string;
  replyTimeoutSec?: number | string;
}

export const DEFAULT_BODY_LIMIT = "10mb";
export const DEFAULT_REPLY_BODY = '{"message":"Flow initialised."}';
export const DEFAULT_REPLY_TIMEOUT_SEC = 30;

const CONTENT_TYPES = { json: "application/json", xml: "application/xml", text: "text/plain" } as const;

export interface WebhookSettings {
  path: string;
  methods: Set<string>;
  auth: WebhookAuth;
  allowEmptySigned: boolean;
  limitBytes: number;
  reply: {
    mode: "immediate" | "wait";
    status: number;
    contentType: string;
    body: Template;
    timeoutMs: number;
  };
}

export interface CompiledTrigger {
  schedules: CompiledSchedule[];
  webhook?: WebhookSettings;
}

function positive(value: unknown, fallback: number, what: string): number {
  if (value === undefined || value === null || value === "") return fallback;
  const n = Number(value);
  if (!Number.isFinite(n) || n <= 0)
    throw new Error(`${what} must be a positive number, not "${String(value)}"`);
  return n;
}

function needSecret(secret: string | undefined, what: string): string {
  if (!secret) throw new Error(`${what} needs a secret: enter it in the trigger's Webhook settings`);
  return secret;
}

export function webhookAuth(s: TriggerSettings, secret: string | undefined): WebhookAuth {
  const auth = s.auth || "none";
  switch (auth) {
    case "none":
      return { type: "none" };
    case "token-query":
    case "token-header": {
      const name = (s.tokenName || (auth === "token-query" ? "token" : "x-webhook-token")).trim();
      return {
        type: "token",
        in: auth === "token-query" ? "query" : "header",
        name,
        token: needSecret(secret, "token authentication"),
      };
    }
    case "shopify":
      return { type: "shopify", secret: needSecret(secret, "Shopify signature checking") };
    case "hubspot":
      return {
        type: "hubspot",
        secret: needSecret(secret, "HubSpot signature checking"),
        maxAgeMs: positive(s.maxAgeSec, HUBSPOT_MAX_AGE_MS / 1000, "maximum age") * 1000,
      };
    case "tiktok":
      if (!s.tiktokAppKey) throw new Error("TikTok Shop signature checking needs the app key");
      return {
        type: "tiktok",
        appKey: s.tiktokAppKey.trim(),
        secret: needSecret(secret, "TikTok Shop signature checking"),
      };
    case "hmac": {
      if (!s.hmacHeader)
        throw new Error("HMAC signature checking needs the name of the header that carries the signature");
      const algorithm = s.hmacAlgorithm || "sha256";
      if (!["sha1", "sha256", "sha512"].includes(algorithm))
        throw new Error(`unknown HMAC algorithm "${algorithm}"`);
      const signs = s.hmacSigns || "body";
      if (signs === "timestamp.body" && !s.hmacTimestampHeader) {
        throw new Error('signing "timestamp.body" needs the name of the timestamp header');
      }
      return {
        type: "hmac",
        header: s.hmacHeader.trim(),
        algorithm,
        encoding: s.hmacEncoding === "base64" ? "base64" : "hex",
        prefix: s.hmacPrefix || undefined,
        secret: needSecret(secret, "HMAC signature checking"),
        signs,
        timestampHeader: s.hmacTimestampHeader?.trim() || undefined,
        maxAgeMs: positive(s.maxAgeSec, HUBSPOT_MAX_AGE_MS / 1000, "maximum age") * 1000,
      };
    }
    default:
      throw new Error(`unknown webhook authentication "${String(auth)}"`);
  }
}

/** A problem with one schedule: `row` is its position, `part` "tz" (its time zone) or "schedule" (the rest). */
export interface ScheduleProblem {
  message: string;
  row: number;
  part: "tz" | "schedule";
}

/**
 * Every problem of the trigger's schedules (none when they all compile), each naming its
 * schedule by position: a bad time zone and a bad cron in one schedule are two problems.
 */
export function scheduleProblems(specs: unknown): ScheduleProblem[] {
  if (specs === undefined || specs === null) return [];
  if (!Array.isArray(specs)) return [{ message: "the schedules must be a list", row: 0, part: "schedule" }];
  const out: ScheduleProblem[] = [];
  (specs as ScheduleSpec[]).forEach((spec, i) => {
    const at = `schedule ${i + 1}: `;
    let tz = DEFAULT_TZ;
    try {
      tz = checkTimeZone(spec?.tz || DEFAULT_TZ);
    } catch (err) {
      out.push({ message: at + (err as Error).message, row: i, part: "tz" });
    }
    try {
      compileSchedule({ ...spec, tz });
    } catch (err) {
      out.push({ message: at + (err as Error).message, row: i, part: "schedule" });
    }
  });
  return out;
}

/** The trigger's schedules, each checked; an error names every schedule at fault by its position. */
export function compileSchedules(specs: ScheduleSpec[] | undefined): CompiledSchedule[] {
  const problems = scheduleProblems(specs);
  if (problems.length) throw new Error(problems.map((p) => p.message).join("; "));
  return (specs ?? []).map((spec) => compileSchedule(spec));
}

/** The webhook's immediate reply body: JSON unless it is a template or another type. */
export function compileReplyBody(type: string | undefined, body: string | undefined): Template {
  const text = body ?? DEFAULT_REPLY_BODY;
  if ((type ?? "json") === "json" && !text.includes("{{")) {
    try {
      JSON.parse(text);
    } catch (err) {
      throw new Error(
        `the reply body is not valid JSON (${(err as Error).message}): fix it or choose the text reply type`,
        { cause: err },
      );
    }
  }
  return compileTemplate(text);
}

/** A schedule in a few words, as the trigger's label on the canvas shows it. */
function describeSchedule(s: ScheduleSpec): string {
  switch (s?.type) {
    case "minutes":
      return `every ${String(s.every)} min`;
    case "hourly":
      return `${(s.every ?? 1) > 1 ? `every ${String(s.every)} h` : "hourly"} at :${`0${String(s.minute || 0)}`.slice(-2)}`;
    case "daily":
      return `daily at ${s.time}`;
    case "monthly":
      return `monthly at ${s.time}`;
    default:
      return `cron ${String((s as { cron?: string })?.cron)}`;
  }
}

/** The trigger's label on the canvas when it has no name: its schedules and webhook path. */
export function triggerLabel(s: TriggerSettings): string {
  const parts = (Array.isArray(s.schedules) ? s.schedules : []).map(describeSchedule);
  if (s.webhook && s.path) parts.push(`webhook ${s.path}`);
  return parts.length ? parts.join(", ") : "trigger";
}

/** The webhook's body size limit in bytes; blank is the default. */
export function bodyLimitBytes(limit: string | undefined): number {
  return parseSize(limit || DEFAULT_BODY_LIMIT);
}

/** Checks and compiles every setting once, at deploy. Throws with a message naming the setting. */
export function compileTrigger(s: TriggerSettings, secret?: string): CompiledTrigger {
  const schedules = compileSchedules(s.schedules);
  if (!s.webhook) return { schedules };

  const methods = new Set(
    String(s.methods || "GET,POST")
      .split(",")
      .map((m) => m.trim().toUpperCase())
      .filter(Boolean),
  );
  for (const m of methods) {
    if (m !== "GET" && m !== "POST")
      throw new Error(`webhook method "${m}" is not supported: use GET and/or POST`);
  }
  if (methods.size === 0) throw new Error("the webhook accepts no method: tick GET and/or POST");
  const status = Math.floor(positive(s.replyStatus, 200, "reply status"));
  if (status < 100 || status > 599) throw new Error(`reply status ${status} is not an HTTP status`);
  const type = s.replyType && s.replyType in CONTENT_TYPES ? s.replyType : "json";
  const body = compileReplyBody(type, s.replyBody);
  return {
    schedules,
    webhook: {
      path: normalisePath(s.path ?? ""),
      methods,
      auth: webhookAuth(s, secret),
      allowEmptySigned: s.allowEmptySigned === true,
      limitBytes: bodyLimitBytes(s.bodyLimit),
      reply: {
        mode: s.replyMode === "wait" ? "wait" : "immediate",
        status,
        contentType: CONTENT_TYPES[type],
        body,
        timeoutMs: positive(s.replyTimeoutSec, DEFAULT_REPLY_TIMEOUT_SEC, "reply timeout") * 1000,
      },
    },
  };
}
