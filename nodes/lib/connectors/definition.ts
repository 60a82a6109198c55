import type { AnswerErrorSpec } from "./answer-errors";
import fs from "node:fs";
import path from "node:path";
import Ajv, { type ErrorObject } from "ajv";
import { checkPagination, type Pagination } from "../http/pagination";
import type { Limit } from "../http/rate-limit";
import type { CostLimit } from "../http/cost-limit";
import { compileTemplate } from "../templates";
import { compileGetter } from "../paths";
import { parameterProblems, type Parameter } from "./parameters";
import { compileResults, type ResultsSpec } from "./results";
import { tagProblems, type FieldTags } from "../mapping/taxonomy";

/**
 * Connector definitions: one JSON document per system, checked against the JSON Schema in
 * nodes/connectors/schema.json (with ajv) and then for what a schema cannot say (unique
 * endpoint ids, templates that parse, pagination that can work). Errors name the field.
 */
export interface Variable {
  key: string;
  label: string;
  type?: "string" | "number" | "boolean";
  required?: boolean;
  default?: string | number | boolean;
  secret?: boolean;
  help?: string;
}

export type AuthMethod =
  | { type: "none"; label?: string }
  | { type: "basic"; label?: string; username: string; password: string }
  | { type: "bearer"; label?: string; token: string }
  | { type: "apikey"; label?: string; in: "header" | "query"; name: string; value: string }
  | {
      type: "session";
      label?: string;
      login: {
        method: "GET" | "POST" | "PUT";
        path: string;
        body?: unknown;
        bodyFormat?: "json" | "form" | "xml";
        headers?: Record<string, string>;
      };
      tokenPath: string;
      /** A regular expression whose first group is the token within the value at tokenPath. */
      tokenPattern?: string;
      expiresInPath?: string;
      expiresInSeconds?: number;
      header?: string;
      prefix?: string;
      inject?: "header" | "body";
    }
  | {
      type: "oauth2_client_credentials";
      label?: string;
      tokenUrl: string;
      clientId: string;
      clientSecret: string;
      scope?: string;
      audience?: string;
      sendAs?: "body" | "basic";
    }
  | {
      type: "oauth1";
      label?: string;
      consumerKey: string;
      consumerSecret: string;
      token: string;
      tokenSecret: string;
      realm?: string;
      /** netsuite: the realm is the account id upper-cased with - as _ (1234567-sb1: 1234567_SB1). */
      realmStyle?: "as-is" | "netsuite";
      signatureMethod?: "HMAC-SHA1" | "HMAC-SHA256";
    }
  | { type: "signed"; label?: string; hook: "tiktok-shop" | "woocommerce" }
  | {
      type: "oauth2_code";
      label?: string;
      authorizeUrl: string;
      tokenUrl: string;
      clientId: string;
      clientSecret: string;
      scope?: string;
      pkce?: boolean;
      extraParams?: Record<string, string>;
    };

export interface Endpoint {
  id: string;
  name: string;
  entity?: string;
  direction: "receive" | "send";
  method: "GET" | "POST" | "PUT" | "PATCH" | "DELETE";
  path: string;
  query?: Record<string, string>;
  headers?: Record<string, string>;
  body?: unknown;
  bodyFormat?: "json" | "form" | "xml" | "text";
  parameters?: Parameter[];
  records?: string;
  /** `csv`: the value at `records` is CSV text with a header row (Peoplevox's GetData Detail). */
  recordsFormat?: "csv";
  /** Send endpoints: the record (or batch) is offered to the body template as CSV text with a header row, `{{csv}}`. */
  csv?: { columns?: string[] };
  pagination?: Pagination & { maxPages?: number };
  batch?: { size: number; wrap?: string };
  wrap?: string;
  /**
   * Send endpoints: fields each record gets when it has none, as the API's contract requires
   * them (HubSpot's batch create wants `associations: []` on every input). The record's own
   * values win; the caller's records are never changed.
   */
  defaults?: Record<string, unknown>;
  /** Send endpoints: where a 2xx answer reports per-record errors (see results.ts). */
  results?: ResultsSpec;
  sample?: unknown;
  /** Standard tags (nodes/connectors/taxonomy.json) of the sample's fields, by path: what auto-map pairs on. */
  tags?: FieldTags;
  schema?: object;
  format?: "json" | "xml" | "text";
  /** What a user should know (an import that found no pagination says so here). */
  note?: string;
}

export interface ConnectorDefinition {
  id: string;
  name: string;
  version: string;
  description?: string;
  category?: string;
  icon?: string;
  docs?: string;
  variables?: Variable[];
  baseUrl: string;
  headers?: Record<string, string>;
  auth: AuthMethod[];
  rateLimit?: Limit[];
  /** Cost-based throttling read from the API's answers (GraphQL query cost). */
  costLimit?: CostLimit;
  /** Which redirects to follow (see SendOptions.redirects); default same-origin. */
  redirects?: "same-origin" | "none" | "follow";
  /** Answers that report a failure with a 2xx status (see answer-errors.ts). */
  answerError?: AnswerErrorSpec;
  retry?: {
    attempts?: number;
    resetHeader?: { name: string; unit: "seconds" | "epoch_s" | "epoch_ms" };
    idempotencyHeader?: string;
    /** A template for the key (over record, run, meta …); default a random UUID per request. */
    idempotencyKey?: string;
  };
  endpoints: Endpoint[];
}

export class DefinitionError extends Error {
  constructor(
    readonly connector: string,
    readonly problems: string[],
  ) {
    super(`connector "${connector}" is not valid: ${problems.join("; ")}`);
    this.name = "DefinitionError";
  }
}

let validator: ReturnType<Ajv["compile"]> | undefined;
function schemaValidator() {
  if (!validator) {
    // Beside the compiled engine in dist/, and beside the sources in nodes/.
    const file = path.join(__dirname, "..", "..", "connectors", "schema.json");
    const ajv = new Ajv({ allErrors: true, strict: false });
    validator = ajv.compile(JSON.parse(fs.readFileSync(file, "utf8")));
  }
  return validator;
}

/** Checks a definition; returns it typed, or throws a DefinitionError listing every problem by field. */
export function validateDefinition(input: unknown): ConnectorDefinition {
  const name = typeof (input as { id?: unknown })?.id === "string" ? (input as { id: string }).id : "(no id)";
  const validate = schemaValidator();
  if (!validate(input)) throw new DefinitionError(name, describeErrors(validate.errors ?? []));
  const def = input as ConnectorDefinition;
  const problems: string[] = [];
  const ids = new Set<string>();
  def.endpoints.forEach((e, i) => {
    if (ids.has(e.id)) problems.push(`endpoints[${i}].id: "${e.id}" is used by another endpoint`);
    ids.add(e.id);
    if (e.pagination) {
      try {
        checkPagination(e.pagination);
      } catch (err) {
        problems.push(`endpoints[${i}].pagination: ${(err as Error).message}`);
      }
    }
    if (e.tags) problems.push(...tagProblems(e.tags, e.sample, `endpoints[${i}].tags`));
    if (e.direction === "send" && e.pagination && e.pagination.type !== "none")
      problems.push(`endpoints[${i}].pagination: a send endpoint does not page`);
    (e.parameters ?? []).forEach((p, j) =>
      problems.push(...parameterProblems(p, `endpoints[${i}].parameters[${j}]`)),
    );
    if (e.csv && e.direction !== "send")
      problems.push(`endpoints[${i}].csv: only a send endpoint sends its records as CSV`);
    if (e.defaults && e.direction !== "send")
      problems.push(`endpoints[${i}].defaults: only a send endpoint fills in its records`);
    if (e.results) {
      if (e.direction !== "send")
        problems.push(`endpoints[${i}].results: only a send endpoint has per-record results`);
      try {
        compileResults(e.results);
      } catch (err) {
        problems.push(`endpoints[${i}].results: ${(err as Error).message}`);
      }
    }
  });
  const regex = (text: string | undefined, where: string) => {
    if (text === undefined) return;
    try {
      new RegExp(text);
    } catch (err) {
      problems.push(`${where}: not a regular expression: ${(err as Error).message}`);
    }
  };
  if (def.answerError) regex(def.answerError.sessionExpired, "answerError.sessionExpired");
  def.auth.forEach((a, i) => {
    if (a.type === "session") regex(a.tokenPattern, `auth[${i}].tokenPattern`);
  });
  if (def.costLimit)
    for (const k of ["available", "maximum", "restoreRate", "requested"] as const)
      try {
        compileGetter(def.costLimit[k]);
      } catch (err) {
        problems.push(`costLimit.${k}: ${(err as Error).message}`);
      }
  if (def.retry?.idempotencyKey !== undefined && !def.retry.idempotencyHeader)
    problems.push(`retry.idempotencyKey: needs retry.idempotencyHeader, the header the API reads it from`);
  const templates: Array<[string, unknown]> = [
    ["baseUrl", def.baseUrl],
    ...(def.retry?.idempotencyKey !== undefined
      ? [["retry.idempotencyKey", def.retry.idempotencyKey] as [string, unknown]]
      : []),
    ...Object.entries(def.headers ?? {}).map(([k, v]): [string, unknown] => [`headers.${k}`, v]),
  ];
  def.endpoints.forEach((e, i) => {
    templates.push([`endpoints[${i}].path`, e.path]);
    for (const [k, v] of Object.entries(e.query ?? {})) templates.push([`endpoints[${i}].query.${k}`, v]);
    for (const [k, v] of Object.entries(e.headers ?? {})) templates.push([`endpoints[${i}].headers.${k}`, v]);
  });
  def.auth.forEach((a, i) => {
    for (const [k, v] of Object.entries(a))
      if (typeof v === "string" && k !== "type") templates.push([`auth[${i}].${k}`, v]);
  });
  for (const [where, text] of templates) {
    try {
      compileTemplate(String(text));
    } catch (err) {
      problems.push(`${where}: ${(err as Error).message}`);
    }
  }
  const keys = new Set<string>();
  (def.variables ?? []).forEach((v, i) => {
    if (keys.has(v.key)) problems.push(`variables[${i}].key: "${v.key}" is used by another variable`);
    keys.add(v.key);
  });
  if (problems.length) throw new DefinitionError(name, problems);
  return def;
}

function describeErrors(errors: ErrorObject[]): string[] {
  const out = new Set<string>();
  for (const e of errors) {
    // if/then branches repeat what the branch itself says.
    if (e.keyword === "if") continue;
    const at =
      e.instancePath
        .replace(/^\//, "")
        .split("/")
        .filter(Boolean)
        .map((p) => (/^\d+$/.test(p) ? `[${p}]` : `.${p}`))
        .join("")
        .replace(/^\./, "") || "(the definition)";
    const params = e.params as Record<string, unknown>;
    let what = e.message ?? "is not valid";
    if (e.keyword === "enum") what = `must be one of ${(params.allowedValues as unknown[]).join(", ")}`;
    if (e.keyword === "required") what = `needs "${String(params.missingProperty)}"`;
    if (e.keyword === "additionalProperties")
      what = `has "${String(params.additionalProperty)}", which is not a setting (check its spelling)`;
    out.add(`${at}: ${what}`);
  }
  return [...out];
}

/** The endpoint by id, or an error naming the ones there are. */
export function endpointOf(def: ConnectorDefinition, id: string): Endpoint {
  const found = def.endpoints.find((e) => e.id === id);
  if (!found)
    throw new Error(
      `connector "${def.name}" has no endpoint "${id}" (it has ${def.endpoints.map((e) => e.id).join(", ")})`,
    );
  return found;
}

/** The prebuilt connectors shipped in nodes/connectors/ (every JSON file but the schema and the taxonomy). */
export function loadPrebuilt(dir = path.join(__dirname, "..", "..", "connectors")): ConnectorDefinition[] {
  return fs
    .readdirSync(dir)
    .filter((f) => f.endsWith(".json") && f !== "schema.json" && f !== "taxonomy.json")
    .sort()
    .map((f) => validateDefinition(JSON.parse(fs.readFileSync(path.join(dir, f), "utf8"))));
}
