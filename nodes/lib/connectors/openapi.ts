import YAML from "yaml";
import type { Pagination } from "../http/pagination";
import type { AuthMethod, ConnectorDefinition, Endpoint, Variable } from "./definition";
import type { Parameter, ParameterType } from "./parameters";

/**
 * A connector drafted from an OpenAPI 3 document (JSON or YAML), meant to run unedited once
 * credentials are filled in:
 * - the first server's URL, its server variables (`{store_name}`) and the URL itself are
 *   instance variables with their defaults, never a literal a user cannot change;
 * - security schemes become auth methods (bearer, basic, API key with the value prefix its
 *   description shows, e.g. `Klaviyo-API-Key …`, OAuth 2 flows); deprecated ones go last; a
 *   document with no schemes gets "none" and a bearer token to choose from;
 * - each path and method is an endpoint (GET receives, the rest send); path parameters are
 *   `{{params.x}}` (receive) or `{{record.x}}` (send);
 * - parameters keep their type, format, enum, default and required; a required header with
 *   a default (an API revision) is sent as a header of the endpoint;
 * - pagination is detected from the spec (Link header, a next URL in the body, a cursor
 *   parameter with its response field, Stripe's `starting_after` with `has_more`, page or
 *   offset parameters); where nothing is
 *   detectable the endpoint says so in `note`;
 * - records are the main array of the 2xx answer (JSON:API `data`; never `included`,
 *   `errors`, `warnings`); a single object GET has none unless it is JSON:API `data`;
 * - request bodies keep their content type and the wrapping their schema requires
 *   (`{"order": {...}}`, JSON:API `{"data": {"type", "attributes"}}`), so a flat record is sent.
 */
type Obj = Record<string, unknown>;
type Schema = {
  type?: string | string[];
  format?: string;
  enum?: unknown[];
  const?: unknown;
  default?: unknown;
  maximum?: number;
  properties?: Record<string, Schema>;
  required?: string[];
  items?: Schema;
  $ref?: string;
  example?: unknown;
  allOf?: Schema[];
  oneOf?: Schema[];
  anyOf?: Schema[];
  nullable?: boolean;
};
type Param = {
  name?: string;
  in?: string;
  required?: boolean;
  description?: string;
  deprecated?: boolean;
  schema?: Schema;
  $ref?: string;
  example?: unknown;
};
type Media = { schema?: Schema; example?: unknown; examples?: Record<string, { value?: unknown }> };
type Response = { $ref?: string; headers?: Record<string, unknown>; content?: Record<string, Media> };
type Operation = {
  operationId?: string;
  summary?: string;
  description?: string;
  tags?: string[];
  deprecated?: boolean;
  parameters?: Param[];
  requestBody?: { $ref?: string; required?: boolean; content?: Record<string, Media> };
  responses?: Record<string, Response>;
};
type Scheme = {
  type?: string;
  scheme?: string;
  in?: string;
  name?: string;
  description?: string;
  deprecated?: boolean;
  "x-default"?: string;
  flows?: {
    clientCredentials?: { tokenUrl?: string; scopes?: Record<string, string> };
    authorizationCode?: { authorizationUrl?: string; tokenUrl?: string; scopes?: Record<string, string> };
  };
};
type Doc = {
  openapi?: string;
  info?: { title?: string; version?: string; description?: string };
  servers?: Array<{
    url?: string;
    variables?: Record<string, { default?: unknown; enum?: unknown[]; description?: string }>;
  }>;
  paths?: Record<string, Record<string, unknown>>;
  components?: Obj;
};

const METHODS = ["get", "post", "put", "patch", "delete"] as const;
const NOT_RECORDS = new Set(["included", "errors", "warnings", "links", "meta", "messages"]);

/** The document, from JSON or YAML text or an object. */
export function parseOpenApi(input: unknown): Doc {
  let doc: unknown = input;
  if (typeof input === "string") {
    const text = input.trim();
    try {
      doc = text.startsWith("{") ? JSON.parse(text) : YAML.parse(text, { maxAliasCount: 1000 });
    } catch (err) {
      throw new Error(`the document is neither JSON nor YAML that can be read: ${(err as Error).message}`, {
        cause: err,
      });
    }
  }
  const d = doc as Doc;
  if (!d || typeof d !== "object" || typeof d.openapi !== "string" || !d.openapi.startsWith("3"))
    throw new Error(
      'this is not an OpenAPI 3 document (no "openapi: 3.x" at its top); paste or upload an OpenAPI 3 description in JSON or YAML',
    );
  return d;
}

export function fromOpenApi(input: unknown): ConnectorDefinition {
  const doc = parseOpenApi(input);
  const deref = <T>(value: T, depth = 0): T => {
    const ref = (value as { $ref?: unknown } | null)?.$ref;
    if (typeof ref !== "string" || !ref.startsWith("#/") || depth > 20) return value;
    let target: unknown = doc;
    for (const part of ref.slice(2).split("/"))
      target = (target as Obj | undefined)?.[part.replace(/~1/g, "/").replace(/~0/g, "~")];
    return target === undefined || target === null ? value : deref(target as T, depth + 1);
  };
  /** A schema with $ref and allOf resolved into one object schema (shallow). */
  const schemaOf = (s: Schema | undefined, depth = 0): Schema | undefined => {
    if (!s || typeof s !== "object" || depth > 10) return undefined;
    const r = deref(s);
    if (r.allOf && Array.isArray(r.allOf)) {
      const parts = r.allOf.map((p) => schemaOf(p, depth + 1)).filter((p): p is Schema => !!p);
      return {
        ...r,
        type: r.type ?? parts.find((p) => p.type)?.type,
        properties: Object.assign({}, ...parts.map((p) => p.properties ?? {}), r.properties ?? {}),
        required: [...(r.required ?? []), ...parts.flatMap((p) => p.required ?? [])],
      };
    }
    return r;
  };
  const typeOf = (s: Schema | undefined): string | undefined =>
    Array.isArray(s?.type) ? s?.type.find((t) => t !== "null") : s?.type;

  const title = doc.info?.title ?? "Imported API";
  const id = slug(title) || "imported-api";
  const variables: Variable[] = [];
  const addVar = (v: Variable) => {
    if (!variables.some((x) => x.key === v.key)) variables.push(v);
  };

  // The base URL: every part a user may need to change is a variable.
  const server = doc.servers?.[0];
  let baseUrl: string;
  const url = typeof server?.url === "string" ? server.url : "";
  if (server?.variables && Object.keys(server.variables).length) {
    baseUrl = url.replace(/\{([^}]+)\}/g, (_m, name: string) => {
      const key = varKey(name);
      const v = server.variables?.[name];
      const def = v?.default;
      addVar({
        key,
        label: v?.description ? `${name} (${clean(v.description).slice(0, 60)})` : name,
        required: def === undefined || def === "",
        ...(def !== undefined && def !== null ? { default: String(def) } : {}),
        ...(Array.isArray(v?.enum) ? { help: `one of ${v.enum.map(String).join(", ")}` } : {}),
      });
      return `{{vars.${key}}}`;
    });
    // Absolute, the scheme itself maybe a variable (GitHub Enterprise: `{protocol}://{hostname}`).
    if (!/^(https?|\{\{vars\.\w+\}\}):\/\//.test(baseUrl)) {
      addVar({ key: "baseUrl", label: "API address", required: true });
      baseUrl = `{{vars.baseUrl}}${baseUrl}`;
    }
  } else {
    const absolute = /^https?:\/\//.test(url);
    addVar(
      absolute
        ? {
            key: "baseUrl",
            label: "API address",
            default: url.replace(/\/+$/, ""),
            help: "as the API's description gives it; change it for a sandbox or a proxy",
          }
        : { key: "baseUrl", label: "API address, e.g. https://api.example.com", required: true },
    );
    baseUrl = absolute ? "{{vars.baseUrl}}" : `{{vars.baseUrl}}${url.replace(/\/+$/, "")}`;
  }

  // Auth: one method per scheme; deprecated schemes are not the default.
  const auth: Array<AuthMethod & { deprecated?: boolean }> = [];
  const schemes = (doc.components?.securitySchemes ?? {}) as Record<string, Scheme>;
  for (const [name, raw] of Object.entries(schemes)) {
    const scheme = deref(raw);
    if (!scheme || typeof scheme !== "object") continue;
    const key = (suffix: string) => `${camel(name)}${suffix}`;
    const deprecated = scheme.deprecated === true || /\bdeprecated\b/i.test(scheme.description ?? "");
    if (scheme.type === "apiKey" && scheme.name && (scheme.in === "header" || scheme.in === "query")) {
      addVar({ key: key("Key"), label: `${name} (API key)`, required: true, secret: true });
      const prefix = keyPrefix(scheme);
      auth.push({
        type: "apikey",
        label: name,
        in: scheme.in,
        name: scheme.name,
        value: `${prefix ? `${prefix} ` : ""}{{vars.${key("Key")}}}`,
        deprecated,
      });
    } else if (scheme.type === "http" && scheme.scheme?.toLowerCase() === "bearer") {
      addVar({ key: key("Token"), label: `${name} (token)`, required: true, secret: true });
      auth.push({ type: "bearer", label: name, token: `{{vars.${key("Token")}}}`, deprecated });
    } else if (scheme.type === "http" && scheme.scheme?.toLowerCase() === "basic") {
      // A key sent as the user with no password (Stripe: "base64 hash of `api_key:`").
      const keyAsUser = /\b\w*key\w*:[`'"]?(?![/\w])/i.test(scheme.description ?? "");
      addVar({
        key: key("User"),
        label: keyAsUser ? `${name} user (your API key)` : `${name} user`,
        required: true,
      });
      addVar({
        key: key("Password"),
        label: keyAsUser ? `${name} password (none: leave empty)` : `${name} password`,
        required: !keyAsUser,
        secret: true,
      });
      auth.push({
        type: "basic",
        label: name,
        username: `{{vars.${key("User")}}}`,
        password: `{{vars.${key("Password")}}}`,
        deprecated,
      });
    } else if (scheme.type === "oauth2") {
      const cc = scheme.flows?.clientCredentials;
      const code = scheme.flows?.authorizationCode;
      if (cc?.tokenUrl || code?.tokenUrl) {
        addVar({ key: "clientId", label: "Client id", required: true });
        addVar({ key: "clientSecret", label: "Client secret", required: true, secret: true });
      }
      if (cc?.tokenUrl)
        auth.push({
          type: "oauth2_client_credentials",
          label: `${name} (client credentials)`,
          tokenUrl: cc.tokenUrl,
          clientId: "{{vars.clientId}}",
          clientSecret: "{{vars.clientSecret}}",
          scope: Object.keys(cc.scopes ?? {}).join(" ") || undefined,
          deprecated,
        });
      if (code?.authorizationUrl && code.tokenUrl)
        auth.push({
          type: "oauth2_code",
          label: `${name} (sign in)`,
          authorizeUrl: code.authorizationUrl,
          tokenUrl: code.tokenUrl,
          clientId: "{{vars.clientId}}",
          clientSecret: "{{vars.clientSecret}}",
          scope: Object.keys(code.scopes ?? {}).join(" ") || undefined,
          deprecated,
        });
    }
  }
  // Stable: the ones in use first, deprecated ones after.
  auth.sort((a, b) => Number(!!a.deprecated) - Number(!!b.deprecated));
  const methods: AuthMethod[] = auth.map(({ deprecated: _d, ...m }) => {
    for (const k of Object.keys(m)) if ((m as Obj)[k] === undefined) delete (m as Obj)[k];
    return m as AuthMethod;
  });
  if (methods.length === 0) {
    // The document names no scheme (older GitHub descriptions, many others): no auth first,
    // and a bearer token as the other choice, so a key can be filled in without editing.
    methods.push({ type: "none" });
    if (Object.keys(schemes).length === 0) {
      addVar({
        key: "token",
        label: "Bearer token (the description names no auth)",
        required: true,
        secret: true,
      });
      methods.push({ type: "bearer", label: "Bearer token", token: "{{vars.token}}" });
    }
  }

  const endpoints: Endpoint[] = [];
  const ids = new Set<string>();
  for (const [p, rawItem] of Object.entries(doc.paths ?? {})) {
    const item = deref(rawItem) as Record<string, unknown> | undefined;
    if (!item || typeof item !== "object") continue;
    const shared = Array.isArray(item.parameters) ? (item.parameters as Param[]) : [];
    for (const method of METHODS) {
      const op = deref(item[method]) as Operation | undefined;
      if (!op || typeof op !== "object") continue;
      let eid = slug(op.operationId ?? `${method}-${p}`) || `${method}-endpoint`;
      while (ids.has(eid)) eid = `${eid}-2`;
      ids.add(eid);
      const receive = method === "get";
      // Operation parameters override path-item ones of the same name and place.
      const byKey = new Map<string, Param>();
      for (const raw of [...shared, ...(op.parameters ?? [])]) {
        const prm = deref(raw);
        if (prm && typeof prm.name === "string" && typeof prm.in === "string")
          byKey.set(`${prm.in}:${prm.name}`, prm);
      }
      const params = [...byKey.values()];
      const response = pickResponse(op, deref);
      const schema = schemaOf(response?.media?.schema);
      const single = /\}\/?$/.test(p);
      const records = receive ? recordsPath(schema, single, p, schemaOf, typeOf) : undefined;
      const endpoint: Endpoint = {
        id: eid,
        name: (op.summary ?? op.operationId ?? `${method.toUpperCase()} ${p}`).slice(0, 120) || eid,
        ...(op.tags?.[0] ? { entity: op.tags[0] } : {}),
        direction: receive ? "receive" : "send",
        method: method.toUpperCase() as Endpoint["method"],
        path: p.replace(/\{([^}]+)\}/g, (_m, name: string) => `{{${receive ? "params" : "record"}.${name}}}`),
      };
      const headers: Record<string, string> = {};
      const parameters: Array<Parameter & { maximum?: number }> = [];
      for (const prm of params) {
        if (prm.in !== "query" && prm.in !== "header" && prm.in !== "path") continue;
        if (prm.in === "path" && !receive) continue; // from the record
        const s = schemaOf(prm.schema);
        if (prm.in === "header" && /^(authorization|content-type)$/i.test(prm.name as string)) continue;
        // Accept is the engine's unless the API insists on a value of its own (a required header
        // with a default, as JSON:API vendors document it).
        if (prm.in === "header" && /^accept$/i.test(prm.name as string) && !prm.required) continue;
        if (prm.in === "header" && prm.required && s?.default !== undefined && s.default !== null) {
          headers[prm.name as string] = String(s.default);
          continue;
        }
        parameters.push(toParameter(prm, s, typeOf));
      }
      // A vendor media type (application/vnd.api+json …) is what the API answers with: asked for
      // by name, as some APIs refuse a plain application/json Accept.
      const answers = response?.type;
      if (answers && /^application\/[\w.+-]+\+json$/i.test(answers) && !Object.keys(headers).some(isAccept))
        headers.Accept = answers;
      if (Object.keys(headers).length) endpoint.headers = headers;

      if (receive) {
        const found = detectPagination(response, schema, parameters, records, schemaOf, typeOf);
        if (found.pagination) {
          endpoint.pagination = found.pagination;
          // The paging parameters belong to the engine now.
          endpoint.parameters = parameters.filter((x) => !found.consumed.includes(x.key));
          if (found.query) endpoint.query = found.query;
        } else {
          endpoint.parameters = parameters;
          if (!single) endpoint.note = found.why;
        }
        if (records !== undefined) endpoint.records = records;
      } else {
        endpoint.parameters = parameters;
        const shape = requestShape(op, deref, schemaOf, typeOf);
        const merged = { ...(endpoint.headers ?? {}), ...(shape.headers ?? {}) };
        Object.assign(endpoint, shape);
        if (Object.keys(merged).length) endpoint.headers = merged;
      }
      if (endpoint.parameters)
        endpoint.parameters = endpoint.parameters.map((x) => {
          const { maximum: _m, ...rest } = x as Parameter & { maximum?: number };
          return rest;
        });
      if (endpoint.parameters?.length === 0) delete endpoint.parameters;

      const recordSchema = recordSchemaOf(schema, records, schemaOf);
      if (recordSchema && typeOf(recordSchema) === "object" && recordSchema.properties)
        endpoint.schema = JSON.parse(JSON.stringify(recordSchema, (k, v) => (k === "$ref" ? undefined : v)));
      const example = exampleOf(response?.media);
      if (example !== undefined && example !== null) {
        const sample = records
          ? firstOf(records === "" ? example : getPath(example, records))
          : single
            ? example
            : undefined;
        if (sample !== undefined && sample !== null) endpoint.sample = sample;
      }
      endpoints.push(endpoint);
    }
  }
  if (endpoints.length === 0)
    throw new Error("the document has no paths with GET, POST, PUT, PATCH or DELETE operations");
  const def: ConnectorDefinition = {
    id,
    name: title.slice(0, 120) || "Imported API",
    version: /^\d+\.\d+\.\d+$/.test(doc.info?.version ?? "") ? (doc.info?.version as string) : "1.0.0",
    variables,
    baseUrl,
    auth: methods,
    endpoints,
  };
  if (doc.info?.description) def.description = clean(doc.info.description).slice(0, 500);
  return def;
}

function toParameter(
  prm: Param,
  s: Schema | undefined,
  typeOf: (s: Schema | undefined) => string | undefined,
): Parameter & { maximum?: number } {
  const t = typeOf(s);
  let type: ParameterType | undefined;
  if (t === "integer") type = "integer";
  else if (t === "number") type = "number";
  else if (t === "boolean") type = "boolean";
  else if (t === "string" && s?.format === "date-time") type = "date-time";
  else if (t === "string" && s?.format === "date") type = "date";
  const out: Parameter & { maximum?: number } = {
    key: prm.name as string,
    label: prm.name as string,
    in: prm.in as Parameter["in"],
  };
  if (prm.required) out.required = true;
  if (type) out.type = type;
  if (s?.format && s.format !== "date-time" && s.format !== "date") out.format = s.format;
  const values = Array.isArray(s?.enum)
    ? s.enum.filter((v) => ["string", "number", "boolean"].includes(typeof v))
    : [];
  if (values.length) out.enum = values as Array<string | number | boolean>;
  if (
    s?.default !== undefined &&
    s.default !== null &&
    ["string", "number", "boolean"].includes(typeof s.default)
  )
    out.default = s.default as string | number | boolean;
  if (prm.description) out.help = clean(prm.description).slice(0, 300);
  if (typeof s?.maximum === "number") out.maximum = s.maximum;
  return out;
}

const isAccept = (name: string) => /^accept$/i.test(name);

function pickResponse(
  op: Operation,
  deref: <T>(v: T) => T,
): { headers: Record<string, unknown>; media?: Media; type?: string } | undefined {
  const responses = op.responses ?? {};
  const key = Object.keys(responses).find((k) => /^2(\d\d|XX)$/i.test(k));
  if (!key) return undefined;
  const r = deref(responses[key]);
  if (!r || typeof r !== "object") return undefined;
  const content = r.content ?? {};
  const type = Object.keys(content).find((t) => /json/i.test(t)) ?? Object.keys(content)[0];
  return { headers: r.headers ?? {}, media: type ? content[type] : undefined, type };
}

function exampleOf(media: Media | undefined): unknown {
  if (!media) return undefined;
  if (media.example !== undefined) return media.example;
  const first = Object.values(media.examples ?? {})[0];
  if (first && typeof first === "object" && "value" in first) return first.value;
  return media.schema?.example;
}

function firstOf(v: unknown): unknown {
  return Array.isArray(v) ? v[0] : v;
}

function getPath(v: unknown, path: string): unknown {
  let at = v;
  for (const k of path.split(".")) at = at && typeof at === "object" ? (at as Obj)[k] : undefined;
  return at;
}

/** The main array of a list answer: the body, JSON:API `data`, or its one array of records. */
function recordsPath(
  schema: Schema | undefined,
  single: boolean,
  path: string,
  schemaOf: (s: Schema | undefined) => Schema | undefined,
  typeOf: (s: Schema | undefined) => string | undefined,
): string | undefined {
  if (!schema) return undefined;
  if (typeOf(schema) === "array") return "";
  const props = schema.properties ?? {};
  const data = schemaOf(props.data);
  if (data && typeOf(data) === "array") return "data";
  if (single) return data && typeOf(data) === "object" ? "data" : undefined;
  const arrays = Object.entries(props)
    .filter(([k, s]) => !NOT_RECORDS.has(k) && typeOf(schemaOf(s)) === "array")
    .map(([k]) => k);
  if (arrays.length === 1) return arrays[0];
  const last =
    path
      .split("/")
      .filter((x) => x && !x.startsWith("{"))
      .pop() ?? "";
  return (
    arrays.find((k) => k === last) ?? arrays.find((k) => ["results", "items", "records", "data"].includes(k))
  );
}

function recordSchemaOf(
  schema: Schema | undefined,
  records: string | undefined,
  schemaOf: (s: Schema | undefined) => Schema | undefined,
): Schema | undefined {
  if (!schema || records === undefined) return undefined;
  const list = records === "" ? schema : schemaOf(schema.properties?.[records]);
  return schemaOf(list?.items) ?? (list && list.properties ? list : undefined);
}

const CURSOR_FIELDS: Record<string, string[]> = {
  after: ["paging.next.after", "next_cursor", "meta.next_cursor", "cursor.after"],
  cursor: [
    "next_cursor",
    "cursor",
    "meta.next_cursor",
    "meta.cursor",
    "next",
    "response_metadata.next_cursor",
  ],
  next_cursor: ["next_cursor", "meta.next_cursor"],
  page_token: ["next_page_token", "nextPageToken"],
  pageToken: ["nextPageToken"],
  page_info: ["page_info", "next_page_info"],
};
const NEXT_URLS = ["links.next", "next", "@odata.nextLink", "paging.next.link", "next_page_url", "meta.next"];

function hasPath(
  schema: Schema | undefined,
  path: string,
  schemaOf: (s: Schema | undefined) => Schema | undefined,
) {
  if (schema?.properties?.[path]) return true;
  let at = schema;
  for (const k of path.split(".")) {
    at = schemaOf(at?.properties?.[k]);
    if (!at) return false;
  }
  return true;
}

/** Paging as the spec shows it, or why none was found. */
function detectPagination(
  response: { headers: Record<string, unknown> } | undefined,
  schema: Schema | undefined,
  params: Array<Parameter & { maximum?: number }>,
  records: string | undefined,
  schemaOf: (s: Schema | undefined) => Schema | undefined,
  typeOf: (s: Schema | undefined) => string | undefined,
): { pagination?: Pagination; consumed: string[]; query?: Record<string, string>; why?: string } {
  const names = new Map(params.filter((p) => p.in === "query").map((p) => [p.key, p]));
  const sizeParam = [
    "page[size]",
    "per_page",
    "page_size",
    "pageSize",
    "limit",
    "size",
    "count",
    "$top",
  ].find((n) => names.has(n));
  const size = sizeParam ? names.get(sizeParam) : undefined;
  const max = size ? maximumOf(size) : undefined;
  const query = size && max ? { [size.key]: String(max) } : undefined;
  const consumedSize = size && max ? [size.key] : [];
  if (Object.keys(response?.headers ?? {}).some((h) => h.toLowerCase() === "link"))
    return { pagination: { type: "link" }, consumed: consumedSize, query };
  // Stripe: the next page starts after the last record's id while `has_more` is true.
  if (
    names.has("starting_after") &&
    typeOf(schemaOf(getSchemaAt(schema, "has_more", schemaOf))) === "boolean" &&
    records !== undefined
  ) {
    const before = names.has("ending_before") ? ["ending_before"] : []; // not with starting_after
    return {
      pagination: { type: "starting_after" },
      consumed: ["starting_after", ...before, ...consumedSize],
      query,
    };
  }
  for (const [param, fields] of Object.entries(CURSOR_FIELDS)) {
    if (!names.has(param)) continue;
    const field = fields.find((f) => hasPath(schema, f, schemaOf));
    if (field)
      return {
        pagination: { type: "cursor", path: field, param },
        consumed: [param, ...consumedSize],
        query,
      };
  }
  const next = NEXT_URLS.find(
    (f) => hasPath(schema, f, schemaOf) && typeOf(schemaOf(getSchemaAt(schema, f, schemaOf))) !== "object",
  );
  if (next) {
    const cursor = ["page[cursor]", "cursor", "page_token", "after", "page", "page[number]"].filter((n) =>
      names.has(n),
    );
    // A key with a dot in it (@odata.nextLink) is one key: quoted in the path syntax.
    const at = schema?.properties?.[next] && next.includes(".") ? `['${next}']` : next;
    return { pagination: { type: "next_url", path: at }, consumed: [...cursor, ...consumedSize], query };
  }
  const page = ["page", "page[number]", "pageNumber", "page_number"].find((n) => names.has(n));
  if (page) {
    const pageSize = max ?? numberDefault(size);
    return {
      pagination: {
        type: "page",
        pageParam: page,
        ...(size ? { sizeParam: size.key } : {}),
        ...(pageSize ? { pageSize } : {}),
        ...(typeof names.get(page)?.default === "number"
          ? { startPage: names.get(page)?.default as number }
          : {}),
      },
      consumed: [page, ...(size ? [size.key] : [])],
    };
  }
  const offset = ["offset", "skip", "$skip", "start"].find((n) => names.has(n));
  if (offset && size) {
    const limit = max ?? numberDefault(size) ?? 100;
    return {
      pagination: { type: "offset", offsetParam: offset, limitParam: size.key, limit },
      consumed: [offset, size.key],
    };
  }
  if (records === undefined)
    return {
      consumed: [],
      why: "no list of records found in the 2xx answer: set records and pagination by hand if this lists records",
    };
  return {
    consumed: [],
    why: "no pagination detected in the spec (no Link header, next URL, cursor, page or offset parameter): only the first page is pulled; add pagination by hand if the API pages",
  };
}

function getSchemaAt(
  schema: Schema | undefined,
  path: string,
  schemaOf: (s: Schema | undefined) => Schema | undefined,
) {
  if (schema?.properties?.[path]) return schemaOf(schema.properties[path]);
  let at = schema;
  for (const k of path.split(".")) at = schemaOf(at?.properties?.[k]);
  return at;
}

function maximumOf(p: Parameter & { maximum?: number }): number | undefined {
  // "max 100", "Maximum: 100", "can range between 1 and 100"
  const m =
    /\bmax(?:imum)?\W+(\d+)/i.exec(p.help ?? "") ?? /\bbetween\s+\d+\s+and\s+(\d+)/i.exec(p.help ?? "");
  const n = p.maximum ?? (m ? Number(m[1]) : undefined);
  return n && Number.isInteger(n) && n > 0 ? n : undefined;
}

function numberDefault(p: Parameter | undefined): number | undefined {
  return typeof p?.default === "number" && p.default > 0 ? p.default : undefined;
}

/** The content type and wrapping a send endpoint's request body needs. */
function requestShape(
  op: Operation,
  deref: <T>(v: T) => T,
  schemaOf: (s: Schema | undefined) => Schema | undefined,
  typeOf: (s: Schema | undefined) => string | undefined,
): Partial<Endpoint> {
  const body = deref(op.requestBody);
  const content = body?.content ?? {};
  const type = Object.keys(content).find((t) => /json/i.test(t)) ?? Object.keys(content)[0];
  if (!type) return {};
  const out: Partial<Endpoint> = {};
  if (/x-www-form-urlencoded/i.test(type)) out.bodyFormat = "form";
  else if (/xml/i.test(type)) out.bodyFormat = "xml";
  if (type !== "application/json" && !/x-www-form-urlencoded/i.test(type))
    out.headers = { "content-type": type };
  const schema = schemaOf(content[type]?.schema);
  const props = schema?.properties ?? {};
  const data = schemaOf(props.data);
  // JSON:API: {"data": {"type": "...", "attributes": {...}}}
  if (data && data.properties?.type && data.properties?.attributes) {
    const t = schemaOf(data.properties.type);
    const name = t?.const ?? t?.enum?.[0] ?? t?.default;
    out.body = {
      data: { type: typeof name === "string" ? name : "{{record.type}}", attributes: "{{record}}" },
    };
    return out;
  }
  // One required object property: the record goes under it ({"order": {...}}).
  const keys = Object.keys(props);
  if (
    keys.length === 1 &&
    typeOf(schemaOf(props[keys[0]])) === "object" &&
    (schema?.required ?? []).includes(keys[0])
  )
    out.wrap = keys[0];
  return out;
}

/** A value prefix a key needs in its header, as the scheme's description or a vendor shows it. */
function keyPrefix(scheme: Scheme): string | undefined {
  if (scheme.in !== "header" || !/^authorization$/i.test(scheme.name ?? "")) return undefined;
  const text = `${scheme["x-default"] ?? ""} ${scheme.description ?? ""}`;
  const m = /`?\b([A-Z][A-Za-z0-9-]*(?:-[A-Za-z0-9]+)*)\s+(?:your|<|\{|YOUR|\$)/.exec(text);
  return m ? m[1] : undefined;
}

function varKey(name: string): string {
  const k = camel(name);
  return /^[A-Za-z_]/.test(k) ? k : `v${k}`;
}

function clean(text: string): string {
  return text
    .replace(/<br\s*\/?>/gi, " ")
    .replace(/<[^>]+>/g, "")
    .replace(/\s+/g, " ")
    .trim();
}

const slug = (text: string) =>
  text
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, "-")
    .replace(/^-+|-+$/g, "")
    .slice(0, 60);
const camel = (text: string) =>
  text
    .replace(/[^A-Za-z0-9]+(.)/g, (_m, c: string) => c.toUpperCase())
    .replace(/[^A-Za-z0-9_]/g, "")
    .replace(/^[^A-Za-z_]+/, "")
    .replace(/^./, (c) => c.toLowerCase()) || "auth";
