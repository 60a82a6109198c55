import crypto from "node:crypto";
import { compileGetter } from "../paths";
import { escapeXml } from "../templates";
import { systemClock, type Clock } from "../schedule";
import type { HttpRequest, HttpResponse } from "../http/request";
import type { AuthMethod } from "./definition";
import { oauth1Header, SIGNING_HOOKS, SIGNING_SECRETS, type OAuth1Keys } from "./signing";
import type { InstanceTokens, StoredTokens } from "./token-store";

/**
 * Auth methods applied to each request. Tokens obtained at run time (a session login, an
 * OAuth 2 client-credentials grant) are kept until they expire or an API answers 401, then
 * fetched again, once, however many requests wait for them.
 */
export interface Authenticator {
  /** Adds credentials to a request about to be sent. */
  prepare(request: HttpRequest): Promise<HttpRequest>;
  /** After a 401: drops a run-time token so the next prepare fetches a new one. True if that may help. */
  renew(response?: HttpResponse): Promise<boolean>;
  /** Values to keep out of logs and errors (the last few tokens fetched included). */
  secrets(): string[];
}

export interface AuthContext {
  /** Renders a template of the auth settings over the instance's variables. */
  render(template: string, escaping?: "none" | "xml"): string;
  /** The instance's variables, for signing hooks. */
  vars: Record<string, unknown>;
  /** The instance's saved OAuth 2 tokens (see TokenStore). */
  tokens?: InstanceTokens;
  baseUrl: string;
  /** Sends a request without auth (logins, token calls), with the instance's retries and limits. */
  send(request: HttpRequest): Promise<HttpResponse>;
  clock?: Clock;
}

/** Tokens are renewed this long before they expire, so none expires mid-request. */
const EARLY_MS = 30_000;
/** Tokens kept masked after a renewal (a request sent before it may still report its token). */
const KEEP_TOKENS = 4;

export function createAuthenticator(method: AuthMethod, ctx: AuthContext): Authenticator {
  const fixed = (values: string[]) => values.filter((v) => v && v.length >= 4);
  switch (method.type) {
    case "none":
      return { prepare: async (r) => r, renew: async () => false, secrets: () => [] };
    case "basic": {
      const user = ctx.render(method.username);
      const pass = ctx.render(method.password);
      const header = `Basic ${Buffer.from(`${user}:${pass}`).toString("base64")}`;
      return {
        prepare: async (r) => withHeader(r, "Authorization", header),
        renew: async () => false,
        secrets: () => fixed([pass, header.slice(6)]),
      };
    }
    case "bearer": {
      const token = ctx.render(method.token);
      return {
        prepare: async (r) => withHeader(r, "Authorization", `Bearer ${token}`),
        renew: async () => false,
        secrets: () => fixed([token]),
      };
    }
    case "apikey": {
      const value = ctx.render(method.value);
      const prepare =
        method.in === "query"
          ? async (r: HttpRequest) => ({ ...r, query: { ...(r.query ?? {}), [method.name]: value } })
          : async (r: HttpRequest) => withHeader(r, method.name, value);
      return { prepare, renew: async () => false, secrets: () => fixed([value]) };
    }
    case "session":
      return tokenAuth(
        ctx,
        async () => {
          const login = method.login;
          const xml = login.bodyFormat === "xml";
          const response = await ctx.send({
            method: login.method,
            url: joinUrl(ctx.baseUrl, ctx.render(login.path)),
            headers: renderAll(login.headers ?? {}, ctx) as Record<string, string>,
            body:
              login.body === undefined
                ? undefined
                : renderAll(login.body, xml ? { render: (t) => ctx.render(t, "xml") } : ctx),
            bodyFormat: login.bodyFormat ?? "json",
            responseFormat: xml ? "xml" : "json",
          });
          let token = compileGetter(method.tokenPath)(response.data);
          if (typeof token === "number") token = String(token);
          if (typeof token === "string" && method.tokenPattern) {
            // The token is part of a value (Peoplevox's Detail: "<client id>,<session id>").
            const m = new RegExp(method.tokenPattern).exec(token);
            // Not the value itself: it holds the session (not yet among the secrets masked).
            if (!m || !m[1])
              throw new Error(
                `the login's answer at "${method.tokenPath}" (${token.length} characters) does not match the token pattern ${method.tokenPattern}`,
              );
            token = m[1];
          }
          if (typeof token !== "string" || token === "")
            throw new Error(`the login answered without a token at "${method.tokenPath}"`);
          const seconds = method.expiresInPath
            ? Number(compileGetter(method.expiresInPath)(response.data))
            : method.expiresInSeconds;
          return {
            token,
            expiresInMs:
              Number.isFinite(seconds) && (seconds as number) > 0 ? (seconds as number) * 1000 : undefined,
          };
        },
        method.header ?? "Authorization",
        method.prefix ?? "Bearer ",
        undefined,
        method.inject === "body",
      );
    case "oauth2_client_credentials":
      return tokenAuth(
        ctx,
        async () => {
          const clientId = ctx.render(method.clientId);
          const clientSecret = ctx.render(method.clientSecret);
          const body: Record<string, string> = { grant_type: "client_credentials" };
          if (method.scope) body.scope = ctx.render(method.scope);
          if (method.audience) body.audience = ctx.render(method.audience);
          const headers: Record<string, string> = { accept: "application/json" };
          if (method.sendAs === "basic")
            headers.authorization = `Basic ${Buffer.from(`${encodeURIComponent(clientId)}:${encodeURIComponent(clientSecret)}`).toString("base64")}`;
          else Object.assign(body, { client_id: clientId, client_secret: clientSecret });
          const response = await ctx.send({
            method: "POST",
            url: ctx.render(method.tokenUrl),
            headers,
            body,
            bodyFormat: "form",
            responseFormat: "json",
          });
          const data = response.data as { access_token?: unknown; expires_in?: unknown };
          if (typeof data?.access_token !== "string")
            throw new Error("the token endpoint answered without an access_token");
          return {
            token: data.access_token,
            expiresInMs: Number(data.expires_in) > 0 ? Number(data.expires_in) * 1000 : undefined,
          };
        },
        "Authorization",
        "Bearer ",
        () => fixed([ctx.render(method.clientSecret)]),
      );
    case "oauth1": {
      const keys: OAuth1Keys = {
        consumerKey: ctx.render(method.consumerKey),
        consumerSecret: ctx.render(method.consumerSecret),
        token: ctx.render(method.token),
        tokenSecret: ctx.render(method.tokenSecret),
        realm: method.realm
          ? method.realmStyle === "netsuite"
            ? ctx.render(method.realm).trim().toUpperCase().replace(/-/g, "_")
            : ctx.render(method.realm)
          : undefined,
        method: method.signatureMethod ?? "HMAC-SHA256",
      };
      const clock = ctx.clock ?? systemClock;
      return {
        // Signed per attempt: a retry gets a fresh timestamp and nonce.
        prepare: async (r) => withHeader(r, "Authorization", oauth1Header(r, keys, clock.now())),
        renew: async () => false,
        secrets: () => fixed([keys.consumerSecret, keys.tokenSecret, keys.token]),
      };
    }
    case "signed": {
      if (method.hook === "tiktok-shop" && String(ctx.vars.refreshToken ?? "") !== "")
        return tiktokShopRefreshing(ctx);
      const hook = SIGNING_HOOKS[method.hook];
      if (!hook)
        throw new Error(
          `unknown signing hook "${method.hook}" (there is ${Object.keys(SIGNING_HOOKS).join(", ")})`,
        );
      const clock = ctx.clock ?? systemClock;
      return {
        prepare: async (r) => hook(r, { vars: ctx.vars, now: clock.now() }),
        renew: async () => false,
        // The connector marks these variables secret too; the signature itself changes each time.
        secrets: () => fixed((SIGNING_SECRETS[method.hook] ?? []).map((k) => String(ctx.vars[k] ?? ""))),
      };
    }
    case "oauth2_code":
      return authorizationCode(method, ctx);
    default:
      throw new Error(`unknown auth method "${(method as { type: string }).type}"`);
  }
}

/** Stands for the token in a rendered body until the request is sent (session auth with inject: body). */
export const TOKEN_MARKER = "\u0000pw-auth-token\u0000";

function tokenAuth(
  ctx: AuthContext,
  fetchToken: () => Promise<{ token: string; expiresInMs?: number }>,
  header: string,
  prefix: string,
  extraSecrets: () => string[] = () => [],
  inBody = false,
): Authenticator {
  const clock = ctx.clock ?? systemClock;
  let token: string | undefined;
  let expiresAt = Infinity;
  let pending: Promise<string> | undefined;
  const seen: string[] = [];
  const current = async (): Promise<string> => {
    if (token && clock.now() < expiresAt - EARLY_MS) return token;
    // One login for every request waiting on it.
    pending ??= fetchToken()
      .then((t) => {
        token = t.token;
        expiresAt = t.expiresInMs ? clock.now() + t.expiresInMs : Infinity;
        seen.push(t.token);
        if (seen.length > KEEP_TOKENS) seen.shift();
        return t.token;
      })
      .catch((err: Error) => {
        throw new Error(`could not get a token: ${err.message}`);
      })
      .finally(() => {
        pending = undefined;
      });
    return pending;
  };
  return {
    prepare: async (r) => {
      if (!inBody) return withHeader(r, header, `${prefix}${await current()}`);
      const t = await current();
      // The token goes where the body says {{auth.token}}, XML-escaped as SOAP headers need.
      return typeof r.body === "string" ? { ...r, body: r.body.split(TOKEN_MARKER).join(escapeXml(t)) } : r;
    },
    renew: async () => {
      token = undefined;
      return true;
    },
    secrets: () => [...seen, ...extraSecrets()],
  };
}

function withHeader(r: HttpRequest, name: string, value: string): HttpRequest {
  return { ...r, headers: { ...(r.headers ?? {}), [name]: value } };
}

/** Strings in a JSON value rendered as templates (login bodies, headers). */
export function renderAll(value: unknown, ctx: { render(t: string): string }): unknown {
  if (typeof value === "string") return ctx.render(value);
  if (Array.isArray(value)) return value.map((v) => renderAll(v, ctx));
  if (value && typeof value === "object")
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, renderAll(v, ctx)]));
  return value;
}

export function joinUrl(base: string, pathPart: string): string {
  if (/^https?:\/\//i.test(pathPart)) return pathPart;
  return `${base.replace(/\/+$/, "")}/${pathPart.replace(/^\/+/, "")}`;
}

type CodeMethod = Extract<AuthMethod, { type: "oauth2_code" }>;

/**
 * OAuth 2 authorization code: the tokens come from the Authorize button (see the instance's
 * admin routes) into the token store; an expired access token is refreshed with the refresh
 * token (and a rotated refresh token kept), once however many requests wait.
 */
function authorizationCode(method: CodeMethod, ctx: AuthContext): Authenticator {
  const store = ctx.tokens;
  if (!store) throw new Error("OAuth 2 sign-in needs the token store");
  const clock = ctx.clock ?? systemClock;
  let refreshing: Promise<string> | undefined;
  /** The provider's new tokens for the saved refresh token. */
  const refreshed = async (saved: StoredTokens | undefined): Promise<StoredTokens> => {
    if (!saved?.refreshToken)
      throw new Error(
        "the authorization has expired and there is no refresh token: press Authorize in the instance's settings",
      );
    const response = await ctx.send({
      method: "POST",
      url: ctx.render(method.tokenUrl),
      bodyFormat: "form",
      responseFormat: "json",
      headers: { accept: "application/json" },
      body: {
        grant_type: "refresh_token",
        refresh_token: saved.refreshToken,
        client_id: ctx.render(method.clientId),
        client_secret: ctx.render(method.clientSecret),
      },
    });
    return tokensFrom(response.data, clock.now(), saved.refreshToken);
  };
  const stale = (saved: StoredTokens): boolean =>
    saved.expiresAt !== undefined && clock.now() >= saved.expiresAt - EARLY_MS;
  const refresh = async (): Promise<string> => {
    // A store shared by workers: one of them refreshes (a refresh token used twice may be revoked).
    if (store.refreshOnce) return (await store.refreshOnce(stale, refreshed)).accessToken;
    const tokens = await refreshed(store.get());
    await store.set(tokens);
    return tokens.accessToken;
  };
  const saved = () => (store.load ? store.load() : Promise.resolve(store.get()));
  const current = async (): Promise<string> => {
    const tokens = await saved();
    if (!tokens) throw new Error("not authorized yet: press Authorize in the instance's settings");
    if (!stale(tokens)) return tokens.accessToken;
    refreshing ??= refresh().finally(() => {
      refreshing = undefined;
    });
    return refreshing;
  };
  return {
    prepare: async (r) => withHeader(r, "Authorization", `Bearer ${await current()}`),
    renew: async () => {
      const tokens = await saved();
      if (!tokens?.refreshToken) return false;
      await store.set({ ...tokens, expiresAt: 0 });
      return true;
    },
    secrets: () => {
      const saved = store.get();
      return [ctx.render(method.clientSecret), saved?.accessToken ?? "", saved?.refreshToken ?? ""].filter(
        (v) => v.length >= 4,
      );
    },
  };
}

/** The provider's token answer as stored; a refresh that returns no new refresh token keeps the old one. */
export function tokensFrom(data: unknown, now: number, previousRefresh?: string): StoredTokens {
  const d = (data ?? {}) as {
    access_token?: unknown;
    refresh_token?: unknown;
    expires_in?: unknown;
    scope?: unknown;
  };
  if (typeof d.access_token !== "string")
    throw new Error("the token endpoint answered without an access_token");
  const expiresIn = Number(d.expires_in);
  return {
    accessToken: d.access_token,
    refreshToken: typeof d.refresh_token === "string" ? d.refresh_token : previousRefresh,
    expiresAt: Number.isFinite(expiresIn) && expiresIn > 0 ? now + expiresIn * 1000 : undefined,
    scope: typeof d.scope === "string" ? d.scope : undefined,
  };
}

/** The provider's authorize URL for a state and PKCE challenge. */
export function authorizeUrl(
  method: CodeMethod,
  render: (t: string) => string,
  state: string,
  redirectUri: string,
  challenge?: string,
): string {
  const url = new URL(render(method.authorizeUrl));
  url.searchParams.set("response_type", "code");
  url.searchParams.set("client_id", render(method.clientId));
  url.searchParams.set("redirect_uri", redirectUri);
  url.searchParams.set("state", state);
  if (method.scope) url.searchParams.set("scope", render(method.scope));
  if (challenge) {
    url.searchParams.set("code_challenge", challenge);
    url.searchParams.set("code_challenge_method", "S256");
  }
  for (const [k, v] of Object.entries(method.extraParams ?? {})) url.searchParams.set(k, render(v));
  return url.toString();
}

/**
 * TikTok Shop with a refresh token: requests are signed by the tiktok-shop hook with the newest
 * access token; when the saved one is about to expire, or the API answers 401 (an expired or
 * revoked token), it is refreshed once, however many requests wait, with TikTok's documented
 * call: GET {authBaseUrl}/api/v2/token/refresh?app_key&app_secret&refresh_token
 * &grant_type=refresh_token, answered { code: 0, data: { access_token, access_token_expire_in
 * (a Unix time, not a duration), refresh_token, refresh_token_expire_in } }. The new tokens go
 * to the encrypted token store, tagged with a hash of the pasted ones so that pasting new
 * tokens into the instance supersedes them.
 */
const RECENT_REFRESH_MS = 5_000;

/** A TikTok Shop answer whose code (106xxx) says the signing was refused, not the token. */
function signingRefused(body: unknown): boolean {
  let data = body;
  if (typeof body === "string") {
    try {
      data = JSON.parse(body);
    } catch {
      return false;
    }
  }
  const code = Number((data as { code?: unknown } | null)?.code);
  return code >= 106000 && code < 107000;
}

function tiktokShopRefreshing(ctx: AuthContext): Authenticator {
  const hook = SIGNING_HOOKS["tiktok-shop"];
  const clock = ctx.clock ?? systemClock;
  const store = ctx.tokens;
  const pastedAccess = String(ctx.vars.accessToken ?? "");
  const pastedRefresh = String(ctx.vars.refreshToken ?? "");
  const origin = crypto
    .createHash("sha256")
    .update(`tiktok-shop\n${pastedAccess}\n${pastedRefresh}`)
    .digest("hex")
    .slice(0, 24);
  // Without a token store (a dialog's test) the refreshed tokens live as long as this client.
  let local: StoredTokens | undefined;
  const saved = (): StoredTokens | undefined => {
    const t = store ? store.get() : local;
    return t && t.origin === origin ? t : undefined;
  };
  const seen: string[] = [];
  let refreshing: Promise<string> | undefined;
  /** New tokens from TikTok for the saved refresh token (the pasted one when none is saved). */
  const newTokens = async (prev: StoredTokens | undefined): Promise<StoredTokens> => {
    const mine = prev && prev.origin === origin ? prev : undefined;
    const url = new URL(
      joinUrl(String(ctx.vars.authBaseUrl || "https://auth.tiktok-shops.com"), "/api/v2/token/refresh"),
    );
    const response = await ctx.send({
      method: "GET",
      url: url.toString(),
      query: {
        app_key: String(ctx.vars.appKey ?? ""),
        app_secret: String(ctx.vars.appSecret ?? ""),
        refresh_token: mine?.refreshToken ?? pastedRefresh,
        grant_type: "refresh_token",
      },
      responseFormat: "json",
    });
    const body = (response.data ?? {}) as {
      code?: unknown;
      message?: unknown;
      data?: Record<string, unknown>;
    };
    const d = body.data ?? {};
    if (body.code !== 0 || typeof d.access_token !== "string" || d.access_token === "")
      throw new Error(
        `TikTok Shop's token refresh answered code ${String(body.code)}: ${String(body.message ?? "no message")}. Authorize the shop again and paste the new access and refresh tokens`,
      );
    const expireAt = Number(d.access_token_expire_in);
    const tokens: StoredTokens = {
      accessToken: d.access_token,
      refreshToken:
        typeof d.refresh_token === "string" && d.refresh_token
          ? d.refresh_token
          : (mine?.refreshToken ?? pastedRefresh),
      expiresAt: Number.isFinite(expireAt) && expireAt > 0 ? expireAt * 1000 : undefined,
      origin,
    };
    return tokens;
  };
  const refresh = async (): Promise<string> => {
    const replacing = saved()?.accessToken ?? pastedAccess;
    let tokens: StoredTokens;
    if (store?.refreshOnce) {
      // A store shared by workers: one of them refreshes and the others take its tokens (TikTok
      // rotates the refresh token, so one used twice would leave every worker signed out).
      tokens = await store.refreshOnce((s) => s.origin !== origin || s.accessToken === replacing, newTokens);
    } else {
      tokens = await newTokens(saved());
      if (store) await store.set(tokens);
      else local = tokens;
    }
    seen.push(tokens.accessToken, tokens.refreshToken ?? "");
    while (seen.length > KEEP_TOKENS * 2) seen.shift();
    return tokens.accessToken;
  };
  let refreshedAt = -Infinity;
  const refreshOnce = (): Promise<string> => {
    refreshing ??= refresh()
      .then((token) => {
        refreshedAt = clock.now();
        return token;
      })
      .catch((err: Error) => {
        throw new Error(`could not refresh the TikTok Shop access token: ${err.message}`);
      })
      .finally(() => {
        refreshing = undefined;
      });
    return refreshing;
  };
  const current = async (): Promise<string> => {
    if (refreshing) return refreshing;
    const t = saved();
    if (!t) return pastedAccess;
    // A token just refreshed is used even if it lives less than the margin (no refresh loop).
    const recent = clock.now() - refreshedAt < RECENT_REFRESH_MS;
    if (!recent && t.expiresAt !== undefined && clock.now() >= t.expiresAt - EARLY_MS) return refreshOnce();
    return t.accessToken;
  };
  return {
    prepare: async (r) => {
      const accessToken = await current();
      return hook(r, { vars: { ...ctx.vars, accessToken }, now: clock.now() });
    },
    renew: async (response) => {
      // TikTok's 106xxx codes refuse the request's signing (app key, sign, timestamp): a new
      // token would not help, and the 401 says what to fix.
      if (signingRefused(response?.data)) return false;
      // Requests sent together with the old token meet their 401s one after another: one
      // refresh answers them all.
      if (!refreshing && clock.now() - refreshedAt < RECENT_REFRESH_MS) return true;
      await refreshOnce();
      return true;
    },
    secrets: () => {
      const t = saved();
      return [
        String(ctx.vars.appSecret ?? ""),
        pastedAccess,
        pastedRefresh,
        t?.accessToken ?? "",
        t?.refreshToken ?? "",
        ...seen,
      ].filter((v) => v.length >= 4);
    },
  };
}
