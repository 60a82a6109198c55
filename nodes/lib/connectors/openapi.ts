import type { AuthMethod, ConnectorDefinition, Endpoint } from "./definition";

/**
 * A connector drafted from an OpenAPI 3 document: the first server as the base URL, the
 * security schemes as auth methods, each path and method as an endpoint (GET receives, the
 * rest send), path parameters as templates, query parameters as the shape's filters, and the
 * record's schema and example for the field pickers. A draft: review it before use.
 */
type Doc = {
  info?: { title?: string; version?: string; description?: string };
  servers?: Array<{ url?: string }>;
  paths?: Record<string, Record<string, Operation>>;
  components?: { securitySchemes?: Record<string, Scheme>; schemas?: Record<string, Schema> };
};
type Operation = {
  operationId?: string;
  summary?: string;
  tags?: string[];
  parameters?: Param[];
  responses?: Record<string, { content?: Record<string, { schema?: Schema; example?: unknown }> }>;
};
type Param = { name?: string; in?: string; required?: boolean; description?: string; $ref?: string };
type Schema = {
  type?: string;
  properties?: Record<string, Schema>;
  items?: Schema;
  $ref?: string;
  example?: unknown;
};
type Scheme = {
  type?: string;
  scheme?: string;
  in?: string;
  name?: string;
  flows?: {
    clientCredentials?: { tokenUrl?: string; scopes?: Record<string, string> };
    authorizationCode?: { authorizationUrl?: string; tokenUrl?: string; scopes?: Record<string, string> };
  };
};

const METHODS = ["get", "post", "put", "patch", "delete"] as const;

export function fromOpenApi(input: unknown): ConnectorDefinition {
  const doc = (typeof input === "string" ? JSON.parse(input) : input) as Doc & { openapi?: string };
  if (!doc || typeof doc !== "object" || typeof doc.openapi !== "string" || !doc.openapi.startsWith("3")) {
    throw new Error(
      'this is not an OpenAPI 3 document (no "openapi": "3.x" at its top); paste the JSON of an OpenAPI 3 description',
    );
  }
  const title = doc.info?.title ?? "Imported API";
  const id = slug(title) || "imported-api";
  const variables: NonNullable<ConnectorDefinition["variables"]> = [];
  const auth: AuthMethod[] = [];
  for (const [name, scheme] of Object.entries(doc.components?.securitySchemes ?? {})) {
    const key = (suffix: string) => `${camel(name)}${suffix}`;
    if (scheme.type === "apiKey" && scheme.name && (scheme.in === "header" || scheme.in === "query")) {
      variables.push({ key: key("Key"), label: `${name} (API key)`, required: true, secret: true });
      auth.push({
        type: "apikey",
        label: name,
        in: scheme.in,
        name: scheme.name,
        value: `{{vars.${key("Key")}}}`,
      });
    } else if (scheme.type === "http" && scheme.scheme?.toLowerCase() === "bearer") {
      variables.push({ key: key("Token"), label: `${name} (token)`, required: true, secret: true });
      auth.push({ type: "bearer", label: name, token: `{{vars.${key("Token")}}}` });
    } else if (scheme.type === "http" && scheme.scheme?.toLowerCase() === "basic") {
      variables.push(
        { key: key("User"), label: `${name} user`, required: true },
        { key: key("Password"), label: `${name} password`, required: true, secret: true },
      );
      auth.push({
        type: "basic",
        label: name,
        username: `{{vars.${key("User")}}}`,
        password: `{{vars.${key("Password")}}}`,
      });
    } else if (scheme.type === "oauth2") {
      const cc = scheme.flows?.clientCredentials;
      const code = scheme.flows?.authorizationCode;
      if (cc?.tokenUrl || code?.tokenUrl) {
        if (!variables.some((v) => v.key === "clientId"))
          variables.push(
            { key: "clientId", label: "Client id", required: true },
            { key: "clientSecret", label: "Client secret", required: true, secret: true },
          );
      }
      if (cc?.tokenUrl)
        auth.push({
          type: "oauth2_client_credentials",
          label: `${name} (client credentials)`,
          tokenUrl: cc.tokenUrl,
          clientId: "{{vars.clientId}}",
          clientSecret: "{{vars.clientSecret}}",
          scope: Object.keys(cc.scopes ?? {}).join(" ") || undefined,
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
        });
    }
  }
  if (auth.length === 0) auth.push({ type: "none" });
  const endpoints: Endpoint[] = [];
  const ids = new Set<string>();
  for (const [p, ops] of Object.entries(doc.paths ?? {})) {
    for (const method of METHODS) {
      const op = ops?.[method];
      if (!op) continue;
      let eid = slug(op.operationId ?? `${method}-${p}`) || `${method}-endpoint`;
      while (ids.has(eid)) eid = `${eid}-2`;
      ids.add(eid);
      const params = (op.parameters ?? []).filter((x) => x.name && !x.$ref);
      const response = pickResponse(op);
      const schema = response?.schema ? resolve(response.schema, doc) : undefined;
      const records = recordsPath(schema, doc);
      const recordSchema =
        records === undefined
          ? undefined
          : records === ""
            ? resolve(schema?.items ?? {}, doc)
            : resolve(schema?.properties?.[records]?.items ?? {}, doc);
      const endpoint: Endpoint = {
        id: eid,
        name: op.summary ?? op.operationId ?? `${method.toUpperCase()} ${p}`,
        entity: op.tags?.[0],
        direction: method === "get" ? "receive" : "send",
        method: method.toUpperCase() as Endpoint["method"],
        // {id} becomes {{params.id}} for receive endpoints and {{record.id}} for send ones.
        path: p.replace(
          /\{([^}]+)\}/g,
          (_m, name: string) => `{{${method === "get" ? "params" : "record"}.${name}}}`,
        ),
        parameters: params
          .filter((x) => x.in === "query" || x.in === "header" || (x.in === "path" && method === "get"))
          .map((x) => ({
            key: x.name as string,
            label: x.description ? `${x.name} (${x.description.slice(0, 60)})` : (x.name as string),
            in: x.in as "query" | "path" | "header",
            required: x.required === true,
          })),
      };
      if (records !== undefined && method === "get") endpoint.records = records;
      if (recordSchema && recordSchema.type === "object") endpoint.schema = recordSchema as object;
      if (response?.example !== undefined)
        endpoint.sample = Array.isArray(response.example)
          ? response.example[0]
          : records
            ? ((response.example as Record<string, unknown[]>)[records]?.[0] ?? response.example)
            : response.example;
      if (endpoint.parameters?.length === 0) delete endpoint.parameters;
      endpoints.push(endpoint);
    }
  }
  if (endpoints.length === 0)
    throw new Error("the document has no paths with GET, POST, PUT, PATCH or DELETE operations");
  return {
    id,
    name: title,
    version: /^\d+\.\d+\.\d+$/.test(doc.info?.version ?? "") ? (doc.info?.version as string) : "1.0.0",
    description: doc.info?.description?.slice(0, 500),
    variables,
    baseUrl: doc.servers?.[0]?.url ?? "https://api.example.com",
    auth,
    endpoints,
  };
}

function pickResponse(op: Operation): { schema?: Schema; example?: unknown } | undefined {
  const responses = op.responses ?? {};
  const key = Object.keys(responses).find((k) => /^2\d\d$/.test(k));
  const content = key ? responses[key]?.content : undefined;
  return content?.["application/json"] ?? (content ? Object.values(content)[0] : undefined);
}

function resolve(schema: Schema, doc: Doc, depth = 0): Schema {
  if (schema?.$ref && depth < 10) {
    const name = schema.$ref.replace("#/components/schemas/", "");
    const target = doc.components?.schemas?.[name];
    return target ? resolve(target, doc, depth + 1) : schema;
  }
  return schema;
}

/** Where the records of a list answer are: the body itself ("") or its one array property. */
function recordsPath(schema: Schema | undefined, doc: Doc): string | undefined {
  if (!schema) return undefined;
  if (schema.type === "array") return "";
  const arrays = Object.entries(schema.properties ?? {}).filter(([, s]) => resolve(s, doc).type === "array");
  return arrays.length === 1 ? arrays[0][0] : undefined;
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
    .replace(/^[^A-Za-z_]+/, "")
    .replace(/^./, (c) => c.toLowerCase()) || "auth";
