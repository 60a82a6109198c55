import { createHmac, timingSafeEqual } from "node:crypto";

/**
 * How a webhook trigger decides a request really comes from the sender. Secrets come from
 * the node's credentials; failure reasons never include them.
 */
export type WebhookAuth =
  | { type: "none" }
  | { type: "token"; in: "query" | "header"; name: string; token: string }
  | { type: "shopify"; secret: string }
  | { type: "hubspot"; secret: string; maxAgeMs?: number }
  | { type: "tiktok"; appKey: string; secret: string }
  | {
      type: "hmac";
      header: string;
      algorithm: "sha1" | "sha256" | "sha512";
      encoding: "hex" | "base64";
      /** Text before the digest in the header, such as "sha256=". */
      prefix?: string;
      secret: string;
      /** "body" signs the raw body; "timestamp.body" signs `<timestamp>.<body>` (Stripe style). */
      signs: "body" | "timestamp.body";
      timestampHeader?: string;
      maxAgeMs?: number;
    };

/**
 * Schemes whose signature covers the body and nothing else: an empty body's signature never
 * changes, so such a request proves nothing, and the query string is not signed at all.
 */
export function signsBodyOnly(auth: WebhookAuth): boolean {
  return auth.type === "shopify" || auth.type === "tiktok" || auth.type === "hmac";
}

export interface SignedRequest {
  method: string;
  /** The full URL as the sender called it (scheme, host, path, query), for schemes that sign it. */
  url: string;
  headers: Record<string, string | string[] | undefined>;
  query: Record<string, unknown>;
  rawBody: Buffer;
}

export type Verdict = { ok: true } | { ok: false; reason: string };

export const HUBSPOT_MAX_AGE_MS = 5 * 60 * 1000;

const OK: Verdict = { ok: true };
const fail = (reason: string): Verdict => ({ ok: false, reason });

function header(req: SignedRequest, name: string): string | undefined {
  const value = req.headers[name.toLowerCase()];
  return Array.isArray(value) ? value[0] : value;
}

/** Compares in constant time for equal lengths; a length mismatch is no secret. */
export function safeEqual(a: string, b: string): boolean {
  const left = Buffer.from(a, "utf8");
  const right = Buffer.from(b, "utf8");
  return left.length === right.length && timingSafeEqual(left, right);
}

function hmac(algorithm: string, secret: string, ...parts: Array<string | Buffer>): Buffer {
  const mac = createHmac(algorithm, secret);
  for (const part of parts) mac.update(part);
  return mac.digest();
}

// HubSpot signs the URI with these characters decoded (its documented list), nothing else.
const HUBSPOT_DECODE: Record<string, string> = {
  "%3A": ":",
  "%2F": "/",
  "%3F": "?",
  "%40": "@",
  "%21": "!",
  "%24": "$",
  "%27": "'",
  "%28": "(",
  "%29": ")",
  "%2A": "*",
  "%2C": ",",
  "%3B": ";",
};

export function hubspotUri(url: string): string {
  return url.replace(/%(3A|2F|3F|40|21|24|27|28|29|2A|2C|3B)/gi, (m) => HUBSPOT_DECODE[m.toUpperCase()]);
}

function checkAge(timestamp: string | undefined, maxAgeMs: number, now: number, inSeconds: boolean): Verdict {
  if (!timestamp || !/^\d+$/.test(timestamp.trim()))
    return fail("the timestamp header is missing or not a number");
  const at = Number(timestamp) * (inSeconds ? 1000 : 1);
  if (Math.abs(now - at) > maxAgeMs) {
    return fail(
      `the timestamp is ${Math.round((now - at) / 1000)} s old, outside the ${maxAgeMs / 1000} s window`,
    );
  }
  return OK;
}

export function verifyWebhook(auth: WebhookAuth, req: SignedRequest, now: number = Date.now()): Verdict {
  switch (auth.type) {
    case "none":
      return OK;
    case "token": {
      const raw = auth.in === "query" ? req.query[auth.name] : header(req, auth.name);
      const given = Array.isArray(raw) ? raw[0] : raw;
      if (typeof given !== "string" || given === "") return fail(`the ${auth.in} "${auth.name}" is missing`);
      const bearer = given.startsWith("Bearer ") ? given.slice(7) : given;
      return safeEqual(bearer, auth.token) ? OK : fail(`the ${auth.in} "${auth.name}" does not match`);
    }
    case "shopify": {
      const given = header(req, "x-shopify-hmac-sha256");
      if (!given) return fail("the X-Shopify-Hmac-Sha256 header is missing");
      const expected = hmac("sha256", auth.secret, req.rawBody).toString("base64");
      return safeEqual(given.trim(), expected)
        ? OK
        : fail("the X-Shopify-Hmac-Sha256 signature does not match");
    }
    case "hubspot": {
      const given = header(req, "x-hubspot-signature-v3");
      if (!given) return fail("the X-HubSpot-Signature-v3 header is missing");
      const timestamp = header(req, "x-hubspot-request-timestamp");
      const age = checkAge(timestamp, auth.maxAgeMs ?? HUBSPOT_MAX_AGE_MS, now, false);
      if (!age.ok) return age;
      const expected = hmac(
        "sha256",
        auth.secret,
        req.method.toUpperCase(),
        hubspotUri(req.url),
        req.rawBody,
        timestamp as string,
      ).toString("base64");
      // Some proxies turn "+" in header values into spaces; base64 never contains a space.
      return safeEqual(given.trim().replace(/ /g, "+"), expected)
        ? OK
        : fail("the X-HubSpot-Signature-v3 signature does not match");
    }
    case "tiktok": {
      const given = header(req, "authorization");
      if (!given) return fail("the Authorization header is missing");
      const expected = hmac("sha256", auth.secret, auth.appKey, req.rawBody).toString("hex");
      return safeEqual(given.trim().toLowerCase(), expected)
        ? OK
        : fail("the TikTok Shop signature in Authorization does not match");
    }
    case "hmac": {
      let given = header(req, auth.header);
      if (!given) return fail(`the ${auth.header} header is missing`);
      given = given.trim();
      if (auth.prefix) {
        if (!given.startsWith(auth.prefix))
          return fail(`the ${auth.header} header does not start with "${auth.prefix}"`);
        given = given.slice(auth.prefix.length);
      }
      let parts: Array<string | Buffer> = [req.rawBody];
      if (auth.signs === "timestamp.body") {
        const timestamp = auth.timestampHeader ? header(req, auth.timestampHeader) : undefined;
        const age = checkAge(timestamp, auth.maxAgeMs ?? HUBSPOT_MAX_AGE_MS, now, true);
        if (!age.ok) return age;
        parts = [`${timestamp}.`, req.rawBody];
      }
      const expected = hmac(auth.algorithm, auth.secret, ...parts).toString(auth.encoding);
      const normalised = auth.encoding === "hex" ? given.toLowerCase() : given;
      return safeEqual(normalised, expected) ? OK : fail(`the ${auth.header} signature does not match`);
    }
  }
}

/** Header and query names that carry a secret for this auth, so they can be kept out of messages. */
export function secretCarriers(auth: WebhookAuth): { headers: string[]; query: string[] } {
  switch (auth.type) {
    case "token":
      return auth.in === "query"
        ? { headers: [], query: [auth.name] }
        : { headers: [auth.name.toLowerCase()], query: [] };
    case "tiktok":
      return { headers: ["authorization"], query: [] };
    default:
      return { headers: [], query: [] };
  }
}
