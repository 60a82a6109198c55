import https from "node:https";
import tls from "node:tls";
import type { NodeAPI, NodeDef } from "node-red";
import type { Request, Response } from "express";
import crypto from "node:crypto";
import fs from "node:fs";
import path from "node:path";
import { authorizeUrl, tokensFrom } from "./lib/connectors/auth";
import { ConnectorClient, missingVariables, type Instance } from "./lib/connectors/client";
import { addCheck } from "./lib/editor-checks";
import { loadPrebuilt, type AuthMethod, type ConnectorDefinition } from "./lib/connectors/definition";
import { TokenStore, type InstanceTokens, type StoredTokens } from "./lib/connectors/token-store";
import { sharedState } from "./lib/scale/state";
import { builtConnectors, findBuilt } from "./lib/connectors/registry";
import { summariseConnector, summariseDraft } from "./lib/connectors/summary";
import { validateDefinition } from "./lib/connectors/definition";
import { sendRequest } from "./lib/http/request";
import { compileTemplate, escapeXml } from "./lib/templates";
import { releaseLimiter, type Limit } from "./lib/http/rate-limit";
import { releaseCostBucket } from "./lib/http/cost-limit";
import { installAdminErrors } from "./admin-errors";
import { findNode, type InstanceNode, type InstanceSettings } from "./contracts";
import { checkPermission, DEPLOY } from "./admin-permissions";
import { holdSecrets, releaseSecrets } from "./lib/redact";
import { setKey } from "./lib/keys";
import { shapeLabel } from "./shape";

/**
 * An instance: one account of a connector. Plain variables live in the flow; secret ones in
 * Node-RED's encrypted credentials, one credential slot each (secret_0 … secret_9, mapped by
 * `secretSlots`), so editing one secret never wipes another.
 */
const SECRET_SLOTS = 10;
/** The most connector drafts one request may ask summaries of. */
const MAX_DRAFTS = 200;

interface InstanceDef extends NodeDef {
  connector: string;
  vars?: Record<string, string | number | boolean>;
  secretSlots?: Record<string, number>;
  auth?: number;
  rateLimit?: Limit[] | "";
  timeoutSec?: number | string;
  attempts?: number | string;
  /** PEM certificates to trust besides the usual ones (a private CA). */
  tlsCa?: string;
  /** Accept any certificate: for test systems only. */
  tlsInsecure?: boolean;
}

type Credentials = Record<string, string | undefined>;

/** What the instance dialog sends to its admin routes: its values, saved or not. */
interface DialogValues {
  id?: string;
  connector?: string;
  vars?: Record<string, string>;
  /** Secret values as typed; __PWRD__ for one left as saved. */
  secrets?: Record<string, string>;
  secretSlots?: Record<string, number>;
  auth?: number;
  /** A built connector's definition, when it is not deployed yet. */
  definition?: unknown;
}

export = function (RED: NodeAPI) {
  const settings = RED.settings as unknown as {
    userDir?: string;
    credentialSecret?: string | false;
    httpAdminRoot?: string | false;
    patchworks?: { publicBaseUrl?: string; connectorsDir?: string; scaleOut?: unknown };
    get?: (k: string) => unknown;
  };
  // The scale-out mode (settings.js) keeps rate-limit buckets and OAuth tokens in Redis for all workers.
  const shared = sharedState(settings.patchworks?.scaleOut, (m) => RED.log.warn(`pw-instance: ${m}`));
  // The prebuilt connectors, and any in the directory settings.js names (patchworks.connectorsDir).
  const prebuilt = new Map(loadPrebuilt().map((d) => [d.id, d]));
  if (settings.patchworks?.connectorsDir) {
    try {
      for (const d of loadPrebuilt(settings.patchworks.connectorsDir)) prebuilt.set(d.id, d);
    } catch (err) {
      RED.log.error(
        `pw-instance: connectors in ${settings.patchworks.connectorsDir} could not be loaded: ${(err as Error).message}`,
      );
    }
  }
  let store: TokenStore | undefined;
  /** The credential secret (or a key of our own when Node-RED has none): tokens are encrypted under it. */
  const tokenSecret = (): string => {
    const dir = path.join(settings.userDir ?? process.cwd(), "patchworks");
    let secret =
      typeof settings.credentialSecret === "string"
        ? settings.credentialSecret
        : (settings.get?.("_credentialSecret") as string | undefined);
    if (!secret) {
      const keyFile = path.join(dir, "token.key");
      fs.mkdirSync(dir, { recursive: true });
      if (!fs.existsSync(keyFile))
        fs.writeFileSync(keyFile, crypto.randomBytes(32).toString("hex"), { mode: 0o600 });
      secret = fs.readFileSync(keyFile, "utf8");
    }
    return secret;
  };
  const embeddedTokens = (): TokenStore =>
    (store ??= new TokenStore(
      path.join(settings.userDir ?? process.cwd(), "patchworks", "tokens.json"),
      tokenSecret(),
      (m) => RED.log.error(`pw-instance: ${m}`),
    ));
  /** OAuth tokens: a file under the user directory, or Redis in the scale-out mode. */
  const tokenStore = () =>
    shared ? shared.tokens(tokenSecret(), (m) => RED.log.error(`pw-instance: ${m}`)) : embeddedTokens();
  const tokensOf = (instanceId: string): InstanceTokens =>
    shared
      ? shared.tokens(tokenSecret(), (m) => RED.log.error(`pw-instance: ${m}`)).forInstance(instanceId)
      : {
          get: () => embeddedTokens().get(instanceId),
          set: (t: StoredTokens) => embeddedTokens().set(instanceId, t),
        };

  /** Secret variables' values from a node's credential slots. */
  const fromSlots = (
    connector: ConnectorDefinition,
    slots: Record<string, number> | undefined,
    credentials: Credentials | undefined,
  ): Record<string, string | undefined> =>
    Object.fromEntries(
      (connector.variables ?? [])
        .filter((v) => v.secret)
        .map((v) => [
          v.key,
          slots?.[v.key] === undefined ? undefined : credentials?.[`secret_${slots[v.key]}`],
        ]),
    );

  /** Secret variables' values as an open dialog has them: typed, or (left as __PWRD__) the saved ones. */
  const fromDialog = (
    connector: ConnectorDefinition,
    body: DialogValues,
  ): Record<string, string | undefined> => {
    const saved = fromSlots(
      connector,
      body.secretSlots,
      body.id ? (RED.nodes.getCredentials(body.id) as Credentials | undefined) : undefined,
    );
    return Object.fromEntries(
      Object.keys(saved).map((key) => {
        const typed = body.secrets?.[key];
        return [key, typed === undefined || typed === "__PWRD__" ? saved[key] : typed];
      }),
    );
  };

  /** Two sets of variables alike, whatever their order (the dialog sends strings). */
  const sameValues = (a: Record<string, unknown>, b: Record<string, unknown>): boolean => {
    const keys = new Set([...Object.keys(a), ...Object.keys(b)]);
    for (const k of keys) if (String(a[k] ?? "") !== String(b[k] ?? "")) return false;
    return true;
  };

  const settingsOf = (def: Partial<InstanceDef>): InstanceSettings => ({
    connector: def.connector ?? "",
    vars: def.vars ?? {},
    auth: Number(def.auth ?? 0),
    tlsCa: def.tlsCa ?? "",
    tlsInsecure: def.tlsInsecure === true,
    secretSlots: def.secretSlots ?? {},
  });

  /**
   * Saved secrets go only where the deployed instance sends them. A dialog that fills them
   * into a definition, connector, variables (a host) or certificate settings of its own could
   * send them anywhere: that needs the permission to deploy flows, as deploying would.
   */
  const mayUseSaved = async (
    connector: ConnectorDefinition,
    body: DialogValues & { tlsCa?: string; tlsInsecure?: boolean },
    req: Request,
    res: Response,
  ): Promise<boolean> => {
    const saved = fromSlots(
      connector,
      body.secretSlots,
      body.id ? (RED.nodes.getCredentials(body.id) as Credentials | undefined) : undefined,
    );
    const usesSaved = Object.keys(saved).some((key) => {
      const typed = body.secrets?.[key];
      return (typed === undefined || typed === "__PWRD__") && !!saved[key];
    });
    if (!usesSaved) return true;
    const deployed = body.id ? findNode(RED, body.id, "pw-instance")?.deployed : undefined;
    const same =
      deployed !== undefined &&
      body.definition === undefined &&
      (body.connector ?? deployed.connector) === deployed.connector &&
      Number(body.auth ?? deployed.auth) === deployed.auth &&
      (body.tlsCa ?? deployed.tlsCa) === deployed.tlsCa &&
      (body.tlsInsecure ?? deployed.tlsInsecure) === deployed.tlsInsecure &&
      sameValues(body.vars ?? deployed.vars, deployed.vars) &&
      sameValues(body.secretSlots ?? deployed.secretSlots, deployed.secretSlots);
    return same ? true : checkPermission(RED, DEPLOY, req, res);
  };

  /** A prebuilt connector, or one built in the editor and deployed. */
  const connectorById = (id: string | undefined): ConnectorDefinition | undefined =>
    id ? (prebuilt.get(id) ?? findBuilt(id)) : undefined;
  /** The dialog's connector: known here, or a built one not deployed yet that the dialog sends along. */
  const dialogConnector = (body: DialogValues): ConnectorDefinition | undefined => {
    if (body.definition)
      return validateDefinition(
        typeof body.definition === "string" ? JSON.parse(body.definition) : body.definition,
      );
    return connectorById(body.connector);
  };

  /**
   * For the editor (pw/editor/check, kind "instance"): what keeps an instance from being used,
   * by the client's own rule. The editor says which secrets it knows to be set or not (typed in
   * an open dialog); for the others, the deployed instance's saved credentials answer.
   */
  addCheck("instance", (value) => {
    const v = (value ?? {}) as Partial<InstanceDef> & { id?: string; secrets?: Record<string, boolean> };
    const connector = connectorById(v.connector);
    // No connector chosen is the dialog's own required field; one built but not deployed cannot be judged yet.
    if (!connector) return [];
    const saved =
      typeof v.id === "string"
        ? fromSlots(connector, v.secretSlots, RED.nodes.getCredentials(v.id) as Credentials | undefined)
        : {};
    const vars: Record<string, unknown> = { ...(v.vars ?? {}) };
    for (const variable of connector.variables ?? []) {
      if (!variable.secret) continue;
      const known = v.secrets?.[variable.key];
      const set =
        known === undefined ? saved[variable.key] !== undefined && saved[variable.key] !== "" : known;
      vars[variable.key] = set ? "set" : undefined;
    }
    const missing = missingVariables(connector, vars, Number(v.auth ?? 0));
    return missing ? [{ message: missing }] : [];
  });

  function build(
    id: string,
    def: Omit<InstanceDef, keyof NodeDef> & { name?: string },
    secrets: Record<string, string | undefined>,
    tokensId = id,
    given?: ConnectorDefinition,
  ): ConnectorClient {
    const connector = given ?? connectorById(def.connector);
    if (!connector)
      throw new Error(
        `no connector "${def.connector}" (there are ${[...prebuilt.keys(), ...builtConnectors().map((c) => c.id)].join(", ")})`,
      );
    const vars: Record<string, unknown> = { ...(def.vars ?? {}) };
    for (const [key, value] of Object.entries(secrets))
      if (value !== undefined && value !== "") setKey(vars, key, value);
    const timeout = Number(def.timeoutSec);
    const attempts = Number(def.attempts);
    const instance: Instance = {
      id,
      vars,
      auth: def.auth ?? 0,
      rateLimit: Array.isArray(def.rateLimit) && def.rateLimit.length ? def.rateLimit : undefined,
      timeoutMs: Number.isFinite(timeout) && timeout > 0 ? timeout * 1000 : undefined,
      attempts: Number.isInteger(attempts) && attempts > 0 ? attempts : undefined,
    };
    const ca = (def.tlsCa ?? "").trim();
    if (ca && !ca.includes("-----BEGIN CERTIFICATE-----"))
      throw new Error("the CA certificate must be PEM text (-----BEGIN CERTIFICATE----- …)");
    // Only when asked: otherwise Node's own agent, and the usual proxy variables, apply.
    const httpsAgent =
      ca || def.tlsInsecure
        ? new https.Agent({
            ca: ca ? [...tls.rootCertificates, ca] : undefined,
            rejectUnauthorized: def.tlsInsecure !== true,
          })
        : undefined;
    return new ConnectorClient(connector, instance, { httpsAgent, tokens: tokensOf(tokensId) });
  }

  function PwInstance(this: InstanceNode, def: InstanceDef) {
    RED.nodes.createNode(this, def);
    const node = this;
    node.deployed = settingsOf(def);
    let client: ConnectorClient | undefined;
    let problem: string | undefined;
    // Built lazily: a connector built in the editor is another config node, maybe created after this one.
    const ensure = () => {
      if (client || problem) return;
      try {
        const connector = connectorById(def.connector);
        const secrets = connector
          ? fromSlots(connector, def.secretSlots, node.credentials as Credentials)
          : {};
        // Stored payloads must not keep them, should an API echo one back.
        holdSecrets(node.id, Object.values(secrets));
        client = build(node.id, def, secrets);
      } catch (err) {
        problem = (err as Error).message;
        node.error(
          `${shapeLabel("instance", def, def.connector ? `${connectorById(def.connector)?.name ?? def.connector} instance` : undefined)}: ${problem}`,
        );
      }
    };
    Object.defineProperty(node, "client", { get: () => (ensure(), client) });
    Object.defineProperty(node, "problem", { get: () => (ensure(), problem) });
    // The client (with any token it fetched) goes with this node. A redeploy's new node takes
    // over the instance's limiter and what it has counted; a removed instance's is forgotten.
    // Tokens in the token store stay either way: a redeploy must not ask to authorize again.
    node.on("close", (removed: boolean, done: () => void) => {
      if (removed) {
        releaseLimiter(node.id);
        releaseCostBucket(node.id);
      }
      releaseSecrets(node.id);
      done();
    });
  }
  const credentials: Record<string, { type: "password" }> = {};
  for (let i = 0; i < SECRET_SLOTS; i++) credentials[`secret_${i}`] = { type: "password" };
  RED.nodes.registerType("pw-instance", PwInstance as never, {
    credentials,
    // Exported to the editor (RED.settings.pwInstanceSecretSlots): the dialog declares the
    // same credential fields from it. The runtime's constant, not a setting to change.
    settings: { pwInstanceSecretSlots: { value: SECRET_SLOTS, exportable: true } },
  });

  const read = RED.auth.needsPermission("pw-instance.read");
  const write = RED.auth.needsPermission("pw-instance.write");

  // The connectors and their endpoints, for the instance and connection dialogs.
  RED.httpAdmin.get("/pw/connectors", read, (_req: Request, res: Response) => {
    res.json({
      connectors: [...prebuilt.values(), ...builtConnectors().filter((b) => !prebuilt.has(b.id))].map(
        summariseConnector,
      ),
    });
  });

  // Connectors built in the editor and not deployed yet, summarised as the list above: body
  // { definitions: [JSON text or object] }, answer { connectors: [summary or null] } in order.
  RED.httpAdmin.post("/pw/connectors/summaries", read, (req: Request, res: Response) => {
    const definitions = (req.body ?? {}).definitions as unknown;
    if (!Array.isArray(definitions) || definitions.length > MAX_DRAFTS) {
      res.status(400).json({
        error: "bad_request",
        message: `send { "definitions": [...] } with at most ${MAX_DRAFTS} connector definitions`,
      });
      return;
    }
    res.json({ connectors: definitions.map(summariseDraft) });
  });

  /**
   * "Test connection" with the values in the open dialog, saved or not: secrets left as
   * they were (the editor sends __PWRD__) come from the deployed instance's credentials.
   */
  RED.httpAdmin.post("/pw/instances/test", write, async (req: Request, res: Response) => {
    const body = (req.body ?? {}) as DialogValues & {
      endpoint?: string;
      tlsCa?: string;
      tlsInsecure?: boolean;
    };
    let connector: ConnectorDefinition | undefined;
    try {
      connector = dialogConnector(body);
    } catch (err) {
      res.json({ ok: false, message: (err as Error).message });
      return;
    }
    if (!connector) {
      res.status(400).json({ error: "bad_request", message: "choose a connector" });
      return;
    }
    const endpoint =
      connector.endpoints.find((e) => e.id === body.endpoint) ??
      connector.endpoints.find((e) => e.direction === "receive");
    if (!endpoint || endpoint.direction !== "receive") {
      res.status(400).json({
        error: "bad_request",
        message: `choose an endpoint that reads records to test ${connector.name} with`,
      });
      return;
    }
    if (!(await mayUseSaved(connector, body, req, res))) return;
    // A limiter of its own, forgotten once the test has answered.
    const testId = `test-${body.id ?? "new"}`;
    let client: ConnectorClient;
    try {
      client = build(
        testId,
        {
          connector: connector.id,
          vars: body.vars,
          auth: body.auth,
          tlsCa: body.tlsCa,
          tlsInsecure: body.tlsInsecure,
        },
        fromDialog(connector, body),
        body.id ?? "new",
        connector,
      );
    } catch (err) {
      releaseLimiter(testId);
      res.json({ ok: false, message: (err as Error).message });
      return;
    }
    const started = Date.now();
    try {
      const first = await client.receive(endpoint.id, { firstPageOnly: true }).next();
      const count = first.value ? first.value.records.length : 0;
      res.json({
        ok: true,
        message: `${connector.name} answered "${endpoint.name}" with ${count} record(s) in ${Date.now() - started} ms`,
      });
    } catch (err) {
      res.json({ ok: false, message: (err as Error).message });
    } finally {
      releaseLimiter(testId);
    }
  });
  /** Authorizations under way: the one-time state the provider must bring back, for 10 minutes. */
  const pending = new Map<
    string,
    {
      instanceId: string;
      method: Extract<AuthMethod, { type: "oauth2_code" }>;
      render: (t: string) => string;
      verifier: string;
      redirectUri: string;
      expires: number;
    }
  >();
  /** More authorizations under way than anyone starts in 10 minutes: beyond it, the oldest is dropped. */
  const MAX_PENDING = 100;
  const callbackPath = "/pw/oauth/callback";
  const redirectUriFor = (req: Request) => {
    const adminRoot =
      typeof settings.httpAdminRoot === "string" ? settings.httpAdminRoot.replace(/\/+$/, "") : "";
    const base =
      settings.patchworks?.publicBaseUrl?.replace(/\/+$/, "") ?? `${req.protocol}://${req.get("host")}`;
    return `${base}${adminRoot}${callbackPath}`;
  };

  // The Authorize button: a one-time state and PKCE verifier, and the provider's URL to open.
  RED.httpAdmin.post("/pw/instances/:id/authorize", write, async (req: Request, res: Response) => {
    const body = { ...((req.body ?? {}) as DialogValues), id: req.params.id };
    if (!body.connector && !body.definition && !findNode(RED, body.id, "pw-instance")) {
      res.status(404).json({
        error: "not_found",
        message: `No instance has id ${body.id}: open the instance's settings and press Authorize there.`,
      });
      return;
    }
    let connector: ConnectorDefinition | undefined;
    try {
      connector = dialogConnector(body);
    } catch {
      connector = undefined;
    }
    const method = connector?.auth[body.auth ?? 0];
    if (!connector || !method || method.type !== "oauth2_code") {
      res.status(400).json({
        error: "bad_request",
        message: "this instance does not sign in with OAuth 2 (authorization code)",
      });
      return;
    }
    if (!(await mayUseSaved(connector, body, req, res))) return;
    const vars: Record<string, unknown> = {
      ...Object.fromEntries((connector.variables ?? []).map((v) => [v.key, v.default])),
      ...(body.vars ?? {}),
      ...fromDialog(connector, body),
    };
    const render = (t: string) => compileTemplate(t)({ vars } as never);
    const state = crypto.randomBytes(24).toString("base64url");
    const verifier = crypto.randomBytes(32).toString("base64url");
    const challenge =
      method.pkce === false ? undefined : crypto.createHash("sha256").update(verifier).digest("base64url");
    const redirectUri = redirectUriFor(req);
    const now = Date.now();
    for (const [k, p] of pending) if (p.expires < now) pending.delete(k);
    if (pending.size >= MAX_PENDING) pending.delete(pending.keys().next().value as string);
    pending.set(state, {
      instanceId: req.params.id,
      method,
      render,
      verifier,
      redirectUri,
      expires: now + 10 * 60 * 1000,
    });
    res.json({ url: authorizeUrl(method, render, state, redirectUri, challenge), redirectUri });
  });

  // Reached by the browser's redirect from the provider, so without an admin token: it accepts
  // only a state this runtime handed out, once.
  RED.httpAdmin.get(callbackPath, async (req: Request, res: Response) => {
    const page = (status: number, title: string, text: string) =>
      res
        .status(status)
        // A page reached without an admin token, showing text from the provider: no scripts, ever.
        .set(
          "Content-Security-Policy",
          "default-src 'none'; style-src 'unsafe-inline'; frame-ancestors 'none'",
        )
        .set("X-Content-Type-Options", "nosniff")
        .type("html")
        .send(
          `<!doctype html><meta charset="utf-8"><title>${escapeXml(title)}</title><body style="font-family:sans-serif;margin:3em"><h2>${escapeXml(title)}</h2><p>${escapeXml(text)}</p></body>`,
        );
    const state = typeof req.query.state === "string" ? req.query.state : "";
    const entry = pending.get(state);
    pending.delete(state);
    if (!entry || entry.expires < Date.now())
      return page(
        400,
        "Not authorized",
        "This sign-in link is unknown or has expired: press Authorize in the instance again.",
      );
    if (typeof req.query.error === "string")
      return page(
        400,
        "Not authorized",
        `The provider said: ${req.query.error}${typeof req.query.error_description === "string" ? ` (${req.query.error_description})` : ""}`,
      );
    const code = typeof req.query.code === "string" ? req.query.code : "";
    if (!code) return page(400, "Not authorized", "The provider sent no code.");
    try {
      const response = await sendRequest(
        {
          method: "POST",
          url: entry.render(entry.method.tokenUrl),
          bodyFormat: "form",
          responseFormat: "json",
          headers: { accept: "application/json" },
          body: {
            grant_type: "authorization_code",
            code,
            redirect_uri: entry.redirectUri,
            client_id: entry.render(entry.method.clientId),
            client_secret: entry.render(entry.method.clientSecret),
            ...(entry.method.pkce === false ? {} : { code_verifier: entry.verifier }),
          },
        },
        { secrets: [entry.render(entry.method.clientSecret), code] },
      );
      await tokenStore().set(entry.instanceId, tokensFrom(response.data, Date.now()));
      return page(200, "Authorized", "The instance is signed in; you can close this window and deploy.");
    } catch (err) {
      return page(502, "Not authorized", `The token exchange failed: ${(err as Error).message}`);
    }
  });
  installAdminErrors(RED);
};
