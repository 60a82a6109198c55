/**
 * The one place that decides what looks like a secret: names of keys in payloads and headers,
 * names of query parameters, and known secret values. Run logs, snapshots, errors and the map
 * editor's samples all redact through here.
 */
import { setKey } from "./keys";

/** Names that hold a secret wherever they appear: a record's key, a header, a query parameter. */
const SECRET_NAMES =
  "password|passwd|pass|secret|client[_-]?secret|token|access[_-]?token|refresh[_-]?token|id[_-]?token|api[_-]?key|apikey|authorization|auth|x-api-key|private[_-]?key|credentials?";
/**
 * Names that are secrets only in a URL: `code` is an OAuth code there and a discount or country
 * code in a record; `key`, `sig`, `sign` and `session` sign or authorise a request but are common record fields.
 */
const URL_ONLY_NAMES = "key|sig|sign|signature|code|session";

const SECRET_KEY = new RegExp(`^(${SECRET_NAMES})$`, "i");
const SECRET_PARAM = new RegExp(`^(${SECRET_NAMES}|${URL_ONLY_NAMES})$`, "i");
/** A secret-looking key anywhere in a JSON text: only then is a payload walked to redact it. */
export const SECRET_KEY_IN_JSON = new RegExp(`"(${SECRET_NAMES})"\\s*:`, "i");

/** Whether a key (of a record, a header) names a secret. */
export function isSecretKey(name: string): boolean {
  return SECRET_KEY.test(name);
}

/**
 * Secret values the runtime holds (instances' secret variables), by owner: an API may echo
 * one back under a key not named like a secret, and stored payloads must not keep it.
 */
const held = new Map<string, string[]>();
let heldValues: string[] = [];

export function holdSecrets(owner: string, values: Array<string | undefined>): void {
  held.set(
    owner,
    values.filter((v): v is string => typeof v === "string" && v.length >= 4),
  );
  heldValues = [...new Set([...held.values()].flat())];
}

export function releaseSecrets(owner: string): void {
  if (!held.delete(owner)) return;
  heldValues = [...new Set([...held.values()].flat())];
}

/** A text with every secret value the runtime holds masked (notifications kept in the run log). */
export function maskHeld(text: string): string {
  return heldValues.length > 0 ? maskSecrets(text, heldValues) : text;
}

/** Whether a text contains a secret value the runtime holds. */
export function holdsSecret(text: string): boolean {
  for (const s of heldValues) if (text.includes(s)) return true;
  return false;
}

/**
 * Values under keys that name a secret become "***", at any depth; secret values the runtime
 * holds are masked wherever they appear in text.
 */
export function redact(value: unknown, depth = 0): unknown {
  if (typeof value === "string") return heldValues.length > 0 ? maskSecrets(value, heldValues) : value;
  if (depth > 50 || value === null || typeof value !== "object") return value;
  if (Buffer.isBuffer(value)) return `<${value.length} bytes>`;
  if (Array.isArray(value)) return value.map((v) => redact(v, depth + 1));
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(value as Record<string, unknown>)) {
    const kept = SECRET_KEY.test(k) ? "***" : redact(v, depth + 1);
    // A key named __proto__ in the data stays data, not the copy's prototype.
    setKey(out, k, kept);
  }
  return out;
}

/** Known secret values (4 characters or more) replaced by ***, plain and URL-encoded. */
export function maskSecrets(text: string, secrets: string[]): string {
  let out = text;
  for (const s of secrets) {
    if (!s || s.length < 4) continue;
    out = out.split(s).join("***").split(encodeURIComponent(s)).join("***");
  }
  return out;
}

/** A URL as the run log and errors show it: user info, secret-looking query parameters and known secret values as ***. */
export function redactUrl(url: string, secrets: string[] = []): string {
  let out = url;
  try {
    const u = new URL(url);
    if (u.username || u.password) {
      u.username = u.username ? "***" : "";
      u.password = u.password ? "***" : "";
    }
    for (const key of [...u.searchParams.keys()]) if (SECRET_PARAM.test(key)) u.searchParams.set(key, "***");
    out = u.toString().replace(/%2A%2A%2A/g, "***");
  } catch {
    // Not a URL: still take out known secrets below.
  }
  return maskSecrets(out, secrets);
}
