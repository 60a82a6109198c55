import crypto from "node:crypto";
import type { HttpRequest } from "../http/request";
import { withQuery } from "../http/request";

/**
 * Request signing: OAuth 1.0a (RFC 5849; NetSuite token-based auth) and the named hooks for
 * APIs that sign every request their own way (TikTok Shop). Each signs the request exactly as
 * it will be sent: the final URL with its query, and the body as it will be serialised.
 */
export interface OAuth1Keys {
  consumerKey: string;
  consumerSecret: string;
  token: string;
  tokenSecret: string;
  realm?: string;
  method: "HMAC-SHA1" | "HMAC-SHA256";
  /** oauth_version=1.0 is optional in RFC 5849 and required by NetSuite: sent unless false. */
  version?: boolean;
}

/** RFC 3986 percent-encoding, as OAuth 1.0a requires (encodeURIComponent leaves !'()* alone). */
export function rfc3986(value: string): string {
  return encodeURIComponent(value).replace(
    /[!'()*]/g,
    (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`,
  );
}

export function oauth1Header(
  request: HttpRequest,
  keys: OAuth1Keys,
  now = Date.now(),
  nonce = crypto.randomBytes(16).toString("hex"),
): string {
  const url = new URL(withQuery(request.url, request.query));
  const oauth: Record<string, string> = {
    oauth_consumer_key: keys.consumerKey,
    oauth_nonce: nonce,
    oauth_signature_method: keys.method,
    oauth_timestamp: String(Math.floor(now / 1000)),
    oauth_token: keys.token,
  };
  if (keys.version !== false) oauth.oauth_version = "1.0";
  const pairs: Array<[string, string]> = [...url.searchParams.entries(), ...Object.entries(oauth)];
  // A form body's fields are signed too (RFC 5849 3.4.1.3.1).
  if (request.bodyFormat === "form" && request.body && typeof request.body === "object") {
    for (const [k, v] of Object.entries(request.body as Record<string, unknown>)) pairs.push([k, String(v)]);
  }
  const normalised = pairs
    .map(([k, v]) => [rfc3986(k), rfc3986(v)])
    .sort((a, b) => (a[0] === b[0] ? (a[1] < b[1] ? -1 : a[1] > b[1] ? 1 : 0) : a[0] < b[0] ? -1 : 1))
    .map(([k, v]) => `${k}=${v}`)
    .join("&");
  const baseUrl = `${url.protocol}//${url.host.toLowerCase()}${url.pathname}`;
  const base = [request.method.toUpperCase(), rfc3986(baseUrl), rfc3986(normalised)].join("&");
  const key = `${rfc3986(keys.consumerSecret)}&${rfc3986(keys.tokenSecret)}`;
  const signature = crypto
    .createHmac(keys.method === "HMAC-SHA256" ? "sha256" : "sha1", key)
    .update(base)
    .digest("base64");
  const header: Record<string, string> = { ...oauth, oauth_signature: signature };
  const parts = Object.entries(header).map(([k, v]) => `${k}="${rfc3986(v)}"`);
  if (keys.realm) parts.unshift(`realm="${rfc3986(keys.realm)}"`);
  return `OAuth ${parts.join(", ")}`;
}

export interface SigningContext {
  /** The instance's variables (app keys and secrets). */
  vars: Record<string, unknown>;
  now: number;
}

/**
 * TikTok Shop (API 202309): app_key and timestamp (seconds) join the query; sign is the hex
 * HMAC-SHA256, keyed with the app secret, of app_secret + path + every query parameter but
 * sign and access_token sorted by name as name+value + the JSON body + app_secret; the access
 * token goes in x-tts-access-token.
 */
function tiktokShop(request: HttpRequest, ctx: SigningContext): HttpRequest {
  const appKey = String(ctx.vars.appKey ?? "");
  const appSecret = String(ctx.vars.appSecret ?? "");
  if (!appKey || !appSecret) throw new Error("TikTok Shop signing needs the instance's appKey and appSecret");
  const query: Record<string, unknown> = {
    ...(request.query ?? {}),
    app_key: appKey,
    timestamp: Math.floor(ctx.now / 1000),
  };
  const url = new URL(withQuery(request.url, query));
  url.searchParams.delete("sign");
  const params = [...url.searchParams.entries()]
    .filter(([k]) => k !== "access_token")
    .sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
  const body =
    request.body === undefined || request.bodyFormat === "form"
      ? ""
      : typeof request.body === "string"
        ? request.body
        : JSON.stringify(request.body);
  const input = `${appSecret}${url.pathname}${params.map(([k, v]) => `${k}${v}`).join("")}${body}${appSecret}`;
  const sign = crypto.createHmac("sha256", appSecret).update(input).digest("hex");
  const headers = { ...(request.headers ?? {}) };
  if (ctx.vars.accessToken) headers["x-tts-access-token"] = String(ctx.vars.accessToken);
  return { ...request, query: { ...query, sign }, headers };
}

/**
 * WooCommerce REST API over plain HTTP: OAuth 1.0a one-legged, as WooCommerce checks it
 * (WC_REST_Authentication::check_oauth_signature): oauth_consumer_key, oauth_timestamp,
 * oauth_nonce, oauth_signature_method and oauth_signature go in the query string (not a
 * header); the base string is METHOD & rawurlencode(scheme://host/path) & the query parameters
 * sorted by name, each name and value RFC 3986-encoded once, joined as name%3Dvalue with %26
 * (WooCommerce encodes the pairs once, not twice as RFC 5849 does: a value with ":" or "/"
 * signs differently); the key is the consumer secret followed by "&" (there is no token).
 * A JSON body is not signed. Reads the instance's consumerKey and consumerSecret.
 */
export function woocommerceSign(
  request: HttpRequest,
  ctx: SigningContext,
  nonce = crypto.randomBytes(16).toString("hex"),
): HttpRequest {
  const key = String(ctx.vars.consumerKey ?? "");
  const secret = String(ctx.vars.consumerSecret ?? "");
  if (!key || !secret)
    throw new Error("WooCommerce signing needs the instance's consumerKey and consumerSecret");
  const oauth: Record<string, string> = {
    oauth_consumer_key: key,
    oauth_nonce: nonce,
    oauth_signature_method: "HMAC-SHA256",
    oauth_timestamp: String(Math.floor(ctx.now / 1000)),
  };
  const url = new URL(withQuery(request.url, { ...(request.query ?? {}), ...oauth }));
  url.searchParams.delete("oauth_signature");
  const wcEncode = (v: string) => rfc3986(v).replace(/%7E/g, "~");
  const pairs = [...url.searchParams.entries()]
    .map(([k, v]) => [wcEncode(k), wcEncode(v)] as const)
    .sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
  const base = [
    request.method.toUpperCase(),
    rfc3986(`${url.protocol}//${url.host}${url.pathname}`),
    pairs.map(([k, v]) => `${k}%3D${v}`).join("%26"),
  ].join("&");
  const signature = crypto.createHmac("sha256", `${secret}&`).update(base).digest("base64");
  return { ...request, query: { ...(request.query ?? {}), ...oauth, oauth_signature: signature } };
}

export const SIGNING_HOOKS: Record<string, (request: HttpRequest, ctx: SigningContext) => HttpRequest> = {
  "tiktok-shop": tiktokShop,
  woocommerce: (request, ctx) => woocommerceSign(request, ctx),
};

/** The instance variables each hook signs with: kept out of logs and errors. */
export const SIGNING_SECRETS: Record<string, string[]> = {
  "tiktok-shop": ["appSecret", "accessToken", "refreshToken"],
  woocommerce: ["consumerSecret"],
};
