import { compileTemplate, toText, type TemplateView } from "./templates";
import { maskHeld } from "./redact";

/**
 * The notify shape's engine: a message from a template at a level, and what each channel
 * sends (an email's text, a webhook's JSON body). Nothing here talks to Node-RED; the mail
 * transport is in mailer.ts, the webhook's request below.
 */

export const LEVELS = ["success", "info", "warning", "error"] as const;
export type Level = (typeof LEVELS)[number];

/** Each `{{value}}` is cut at this many characters unless the shape says otherwise (the product's rule). */
export const DEFAULT_VALUE_CHARS = 100;
/** What the run log keeps of a notification's text. */
export const RUN_LOG_TEXT_CHARS = 2000;
/** How long a webhook may take to answer. */
export const WEBHOOK_TIMEOUT_MS = 10_000;

export const WEBHOOK_FORMATS = ["slack", "teams", "json"] as const;
export type WebhookFormat = (typeof WEBHOOK_FORMATS)[number];

/** Colours of the levels, as the product shows them (green, grey, orange, red). */
export const LEVEL_COLOURS: Record<Level, string> = {
  success: "#2EB67D",
  info: "#9E9E9E",
  warning: "#F2A33A",
  error: "#D93025",
};
const TEAMS_COLOURS: Record<Level, string> = {
  success: "Good",
  info: "Default",
  warning: "Warning",
  error: "Attention",
};

export interface NotifySettings {
  template?: string;
  subject?: string;
  level?: string;
  /** Characters each `{{value}}` keeps; 0 keeps them whole. Blank: DEFAULT_VALUE_CHARS. */
  valueChars?: number | string;
}

export interface Notification {
  level: Level;
  subject: string;
  text: string;
}

export interface CompiledNotify {
  level: Level;
  render(view: TemplateView, level?: Level): Notification;
}

/** Checks the settings and parses the templates once; throws with what to fix. */
export function compileNotify(s: NotifySettings): CompiledNotify {
  const level = (s.level || "info") as Level;
  if (!LEVELS.includes(level))
    throw new Error(`the level must be one of ${LEVELS.join(", ")}, not "${s.level}"`);
  const template = s.template ?? "";
  if (!template.trim()) throw new Error("the message is empty: write the text to send");
  const chars =
    s.valueChars === undefined || s.valueChars === "" ? DEFAULT_VALUE_CHARS : Number(s.valueChars);
  if (!Number.isInteger(chars) || chars < 0)
    throw new Error(
      `"cut each value at" must be a whole number of characters (0: never), not "${s.valueChars}"`,
    );
  const escape = (value: unknown) => cut(toText(value), chars);
  const text = compileTemplate(template, escape);
  const subject = s.subject?.trim() ? compileTemplate(s.subject, escape) : undefined;
  return {
    level,
    render(view, as = level) {
      const body = text(view);
      return { level: as, text: body, subject: subject ? oneLine(subject(view)) : defaultSubject(as, body) };
    },
  };
}

function cut(text: string, chars: number): string {
  return chars > 0 && text.length > chars ? `${text.slice(0, chars - 1)}…` : text;
}

function oneLine(text: string): string {
  return text.replace(/\s*[\r\n]+\s*/g, " ").trim();
}

/** `[warning] ` and the message's first line, cut at 100 characters. */
function defaultSubject(level: Level, text: string): string {
  const first = text.split(/\r?\n/).find((line) => line.trim()) ?? "";
  return cut(`[${level}] ${first.trim()}`, 100);
}

/** Who and what a notification is about, for the webhook body and the email's footer. */
export interface NotifyContext {
  shape: string;
  run?: { id: string; flow?: string; trigger?: string; status?: string };
}

/**
 * The webhook's JSON body, built as data (never by pasting text into JSON):
 * - slack: an incoming webhook's `text` with a coloured attachment (also read by Mattermost,
 *   Rocket.Chat and Discord's /slack endpoint);
 * - teams: a Teams workflow's message with an Adaptive Card ("Post to a channel when a
 *   webhook request is received");
 * - json: the notification as it is, for any other receiver.
 */
export function webhookBody(format: WebhookFormat, n: Notification, ctx: NotifyContext): unknown {
  switch (format) {
    case "slack":
      return {
        text: n.subject,
        attachments: [{ color: LEVEL_COLOURS[n.level], text: n.text, footer: footer(ctx) }],
      };
    case "teams":
      return {
        type: "message",
        attachments: [
          {
            contentType: "application/vnd.microsoft.card.adaptive",
            contentUrl: null,
            content: {
              $schema: "http://adaptivecards.io/schemas/adaptive-card.json",
              type: "AdaptiveCard",
              version: "1.4",
              body: [
                {
                  type: "TextBlock",
                  text: n.subject,
                  weight: "Bolder",
                  size: "Medium",
                  color: TEAMS_COLOURS[n.level],
                  wrap: true,
                },
                { type: "TextBlock", text: n.text, wrap: true },
                { type: "TextBlock", text: footer(ctx), isSubtle: true, size: "Small", wrap: true },
              ],
            },
          },
        ],
      };
    default:
      return { level: n.level, subject: n.subject, text: n.text, shape: ctx.shape, run: ctx.run ?? null };
  }
}

/** "pw-notify "Order alerts" · run 01J…" */
export function footer(ctx: NotifyContext): string {
  return ctx.run ? `${ctx.shape} · run ${ctx.run.id}` : ctx.shape;
}

/** The URL as an error may show it: origin only (Slack and Teams webhook URLs are secrets). */
export function safeUrl(url: string): string {
  try {
    return `${new URL(url).origin}/…`;
  } catch {
    return "(not a URL)";
  }
}

/** Checks a webhook URL at deploy; throws with what to fix (without the URL, a secret). */
export function checkWebhookUrl(url: string | undefined): string {
  const text = (url ?? "").trim();
  if (!text) throw new Error("the webhook channel is on but has no URL: paste the webhook's URL");
  let parsed: URL;
  try {
    parsed = new URL(text);
  } catch {
    throw new Error("the webhook URL is not a URL: paste the whole address, https://…");
  }
  if (parsed.protocol !== "https:" && parsed.protocol !== "http:")
    throw new Error(`the webhook URL must start with https:// (or http://), not ${parsed.protocol}`);
  return text;
}

/**
 * Posts the body; resolves with the answer's status, rejects with the status and a short
 * excerpt of the answer (or why no answer came), naming the URL's origin only.
 */
export async function postWebhook(url: string, body: unknown, signal?: AbortSignal): Promise<number> {
  const timeout = AbortSignal.timeout(WEBHOOK_TIMEOUT_MS);
  let res: Response;
  try {
    res = await fetch(url, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify(body),
      signal: signal ? AbortSignal.any([signal, timeout]) : timeout,
    });
  } catch (err) {
    const why = timeout.aborted
      ? `no answer within ${WEBHOOK_TIMEOUT_MS / 1000} s`
      : ((err as Error & { cause?: Error }).cause?.message ?? (err as Error).message);
    throw new Error(`webhook POST ${safeUrl(url)} failed: ${why}`, { cause: err });
  }
  const text = await res.text().catch(() => "");
  if (!res.ok) {
    const excerpt = text.length > 200 ? `${text.slice(0, 199)}…` : text;
    throw new Error(`webhook POST ${safeUrl(url)} answered ${res.status}${excerpt ? `: ${excerpt}` : ""}`);
  }
  return res.status;
}

/** What the run log keeps of one notification. */
export interface NotificationRecord {
  node: string;
  name?: string;
  level: Level;
  subject: string;
  text: string;
  at: number;
  /** Per channel: what happened ("sent to 2 recipient(s)", "answered 200", or the error). */
  channels: Record<string, { ok: boolean; detail: string }>;
  /** Sent by a trigger's "notify when this run fails". */
  alert?: boolean;
}

export function forRunLog(
  n: Notification,
  node: { id: string; name?: string },
  channels: NotificationRecord["channels"],
  at: number,
): NotificationRecord {
  // The run log is read by users who may not see the instances' secrets: a template that
  // rendered one (an API echoing a token back) keeps it out of there.
  const masked: NotificationRecord["channels"] = {};
  for (const [channel, c] of Object.entries(channels)) masked[channel] = { ...c, detail: maskHeld(c.detail) };
  const record: NotificationRecord = {
    node: node.id,
    level: n.level,
    subject: maskHeld(cut(n.subject, 200)),
    text: maskHeld(cut(n.text, RUN_LOG_TEXT_CHARS)),
    at,
    channels: masked,
  };
  if (node.name) record.name = node.name;
  return record;
}
