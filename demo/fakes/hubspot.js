// A fake of HubSpot's CRM API as documented, keeping state so a record sent can be read back.
// - Auth: a private-app token or an OAuth access token as `Authorization: Bearer …`; anything
//   else is 401 INVALID_AUTHENTICATION, an expired OAuth token 401 EXPIRED_AUTHENTICATION. The
//   OAuth token endpoint (POST /oauth/v1/token, form body) exchanges a refresh token.
// - Objects (contacts, companies, deals) listed with GET /crm/v3/objects/{type} (limit at most
//   100, cursor paging.next.after), searched with POST /crm/v3/objects/{type}/search (filterGroups
//   ORed, filters in a group ANDed; sorts; limit at most 200; `after` in the body; at most 10,000
//   results per query: paging past them is a 400).
// - Batch create/update/upsert at /crm/v3/objects/{type}/batch/{action}: at most 100 inputs
//   (more is a 400); each create input needs properties and associations. With a unique
//   objectWriteTraceId on every input, invalid inputs do not sink the batch: 207 Multi-Status
//   with one error per invalid input naming it in context.objectWriteTraceId. Without trace ids
//   an invalid input is a 400 for the whole batch. Upsert matches on idProperty (email for
//   contacts, or a unique property).
// - Associations v4: POST /crm/v4/associations/{from}/{to}/batch/associate/default with
//   inputs [{from:{id}, to:{id}}]; an unknown id is an error in a 207 naming it; GET
//   /crm/v4/objects/{from}/{id}/associations/{to} lists them.
// - Rate limit: `failNext(n, status, after)` answers the next n requests (after `after` that
//   pass) with 429 (HubSpot's body and X-HubSpot-RateLimit-* headers) or a 5xx.
const { startServer } = require("./http-server");

const REQUIRED = { contacts: "email", companies: "name", deals: "dealname" };
const DEFAULT_TYPE = {
  "contacts:companies": 279,
  "companies:contacts": 280,
  "deals:contacts": 3,
  "contacts:deals": 4,
  "deals:companies": 341,
  "companies:deals": 342,
};

function error(status, message, category, extra = {}) {
  return {
    status,
    body: { status: "error", message, correlationId: "0b2c7c6e-fake", category, ...extra },
  };
}

function compare(value, filter) {
  const { operator, value: want, values } = filter;
  if (operator === "HAS_PROPERTY") return value !== undefined && value !== null && value !== "";
  if (operator === "NOT_HAS_PROPERTY") return value === undefined || value === null || value === "";
  if (operator === "IN") return (values ?? []).map(String).includes(String(value));
  if (value === undefined || value === null) return false;
  // Dates compare as instants (HubSpot takes epoch milliseconds or ISO 8601), numbers as numbers.
  const asNumber = (v) => {
    if (/^-?\d+(\.\d+)?$/.test(String(v))) return Number(v);
    const t = Date.parse(String(v));
    return Number.isNaN(t) ? NaN : t;
  };
  const a = asNumber(value);
  const b = asNumber(want);
  const numeric = !Number.isNaN(a) && !Number.isNaN(b);
  switch (operator) {
    case "EQ":
      return String(value).toLowerCase() === String(want).toLowerCase();
    case "NEQ":
      return String(value).toLowerCase() !== String(want).toLowerCase();
    case "GT":
      return numeric ? a > b : String(value) > String(want);
    case "GTE":
      return numeric ? a >= b : String(value) >= String(want);
    case "LT":
      return numeric ? a < b : String(value) < String(want);
    case "LTE":
      return numeric ? a <= b : String(value) <= String(want);
    case "CONTAINS_TOKEN":
      return String(value).toLowerCase().includes(String(want).replace(/\*/g, "").toLowerCase());
    default:
      throw new Error(`unknown operator ${operator}`);
  }
}

async function startHubSpot({
  token = "pat-na1-test",
  contacts = [],
  companies = [],
  deals = [],
  oauth = { clientId: "client-1", clientSecret: "client-secret-1", refreshToken: "refresh-1" },
  clock = () => Date.now(),
} = {}) {
  const created = [];
  const objects = { contacts: [...contacts], companies: [...companies], deals: [...deals] };
  const associations = []; // { from, fromId, to, toId, typeId }
  const accessTokens = new Map(); // OAuth access token -> expiry (ms)
  let nextId = 500;
  let failures = [];
  // HubSpot's documented cap; a test may lower it to reach it with few records.
  const limits = { searchCap: 10000 };
  const stamp = (record) => {
    const now = new Date(clock()).toISOString();
    record.properties = { ...(record.properties ?? {}) };
    record.createdAt ??= now;
    record.updatedAt = now;
    record.properties.hs_lastmodifieddate = now;
    record.properties.hs_object_id = record.id;
    return record;
  };
  for (const list of Object.values(objects))
    for (const r of list) {
      r.properties = { ...(r.properties ?? {}) };
      r.properties.hs_object_id ??= r.id;
      r.properties.hs_lastmodifieddate ??= r.updatedAt ?? "2026-01-01T00:00:00.000Z";
      r.updatedAt ??= r.properties.hs_lastmodifieddate;
      r.createdAt ??= r.updatedAt;
    }
  const find = (type, id) => objects[type].find((r) => r.id === String(id));
  const view = (r, props) => ({
    id: r.id,
    properties: props
      ? Object.fromEntries(
          ["hs_object_id", "createdate", "hs_lastmodifieddate", ...props]
            .filter((p) => p in r.properties)
            .map((p) => [p, r.properties[p]]),
        )
      : r.properties,
    createdAt: r.createdAt,
    updatedAt: r.updatedAt,
    archived: false,
  });

  const batch = (type, action, inputs) => {
    if (!Array.isArray(inputs))
      return error(400, "Invalid input JSON: inputs is required", "VALIDATION_ERROR");
    if (inputs.length > 100)
      return error(
        400,
        `Batch input must contain at most 100 inputs, got ${inputs.length}`,
        "VALIDATION_ERROR",
      );
    // The contract: each create input needs properties and associations (an empty list).
    if (action === "create") {
      const malformed = inputs.findIndex(
        (i) => !i || typeof i.properties !== "object" || !Array.isArray(i.associations),
      );
      if (malformed >= 0)
        return error(
          400,
          `Invalid input JSON: inputs[${malformed}]: Some required fields were not set: [${[
            typeof inputs[malformed]?.properties !== "object" ? "properties" : "",
            !Array.isArray(inputs[malformed]?.associations) ? "associations" : "",
          ]
            .filter(Boolean)
            .join(", ")}]`,
          "VALIDATION_ERROR",
        );
    }
    const required = REQUIRED[type];
    const problem = (i) => {
      if (!i || typeof i.properties !== "object") return ["VALIDATION_ERROR", "properties are required"];
      if (action === "create" && !i.properties[required])
        return ["VALIDATION_ERROR", `Property values were not valid: ${required} is required`];
      if (action === "update" && !find(type, i.id))
        return ["OBJECT_NOT_FOUND", `Object not found. objectId are usually numeric. id: ${i.id}`];
      if (action === "upsert" && (!i.id || !i.idProperty))
        return ["VALIDATION_ERROR", "Upsert inputs need id and idProperty"];
      if (
        i.properties.email !== undefined &&
        i.properties.email !== "" &&
        !/^[^\s@]+@[^\s@]+$/.test(i.properties.email)
      )
        return [
          "VALIDATION_ERROR",
          `Property values were not valid: email "${i.properties.email}" is invalid`,
        ];
      return undefined;
    };
    const traces = inputs.map((i) => i?.objectWriteTraceId);
    const multiStatus =
      traces.every((t) => typeof t === "string" && t !== "") && new Set(traces).size === traces.length;
    const first = inputs.map(problem).find(Boolean);
    if (!multiStatus && first) return error(first[0] === "OBJECT_NOT_FOUND" ? 404 : 400, first[1], first[0]);
    const now = new Date(clock()).toISOString();
    const results = [];
    const errors = [];
    for (const input of inputs) {
      const bad = problem(input);
      if (bad) {
        errors.push({
          status: "error",
          category: bad[0],
          message: bad[1],
          context: { objectWriteTraceId: [input.objectWriteTraceId] },
        });
        continue;
      }
      let record;
      if (action === "create") {
        record = stamp({ id: String(nextId++), properties: input.properties });
        objects[type].push(record);
        created.push(record);
      } else if (action === "update") {
        record = find(type, input.id);
        Object.assign(record.properties, input.properties);
        stamp(record);
      } else {
        record = objects[type].find((r) => String(r.properties[input.idProperty]) === String(input.id));
        if (record) {
          Object.assign(record.properties, input.properties);
          stamp(record);
        } else {
          record = stamp({
            id: String(nextId++),
            properties: { [input.idProperty]: input.id, ...input.properties },
          });
          objects[type].push(record);
          created.push(record);
        }
      }
      const out = view(record);
      if (input.objectWriteTraceId) out.objectWriteTraceId = input.objectWriteTraceId;
      results.push(out);
    }
    const body = { status: "COMPLETE", results, startedAt: now, completedAt: now };
    if (errors.length) return { status: 207, body: { ...body, numErrors: errors.length, errors } };
    return { status: action === "create" ? 201 : 200, body };
  };

  const server = await startServer((req) => {
    const failing = failures.length ? failures.shift() : undefined;
    if (failing) {
      const status = failing;
      if (status === 429)
        return {
          status: 429,
          headers: {
            "x-hubspot-ratelimit-interval-milliseconds": "10000",
            "x-hubspot-ratelimit-max": "190",
            "x-hubspot-ratelimit-remaining": "0",
            "x-hubspot-ratelimit-secondly": "19",
            "x-hubspot-ratelimit-secondly-remaining": "0",
            "retry-after": "1",
          },
          body: {
            status: "error",
            message: "You have reached your secondly limit.",
            errorType: "RATE_LIMIT",
            correlationId: "c033cdaa-fake",
            policyName: "SECONDLY",
          },
        };
      return { status, body: { status: "error", message: "internal error", category: "INTERNAL_ERROR" } };
    }
    if (req.method === "POST" && req.path === "/oauth/v1/token") {
      const form = Object.fromEntries(new URLSearchParams(req.body));
      if (form.client_id !== oauth.clientId || form.client_secret !== oauth.clientSecret)
        return { status: 400, body: { status: "BAD_CLIENT_ID", message: "missing or unknown client id" } };
      if (form.grant_type !== "refresh_token" || form.refresh_token !== oauth.refreshToken)
        return {
          status: 400,
          body: { status: "BAD_REFRESH_TOKEN", message: "missing or unknown refresh token" },
        };
      const access = `oauth-access-${accessTokens.size + 1}`;
      accessTokens.set(access, clock() + 1800 * 1000);
      return {
        body: {
          token_type: "bearer",
          refresh_token: oauth.refreshToken,
          access_token: access,
          expires_in: 1800,
        },
      };
    }
    const bearer = /^Bearer (.+)$/.exec(req.headers.authorization ?? "")?.[1];
    if (bearer && accessTokens.has(bearer) && accessTokens.get(bearer) <= clock())
      return error(
        401,
        `The OAuth token used to make this call expired ${Math.ceil((clock() - accessTokens.get(bearer)) / 1000)} second(s) ago.`,
        "EXPIRED_AUTHENTICATION",
      );
    if (!bearer || (bearer !== token && !accessTokens.has(bearer)))
      return error(401, "Authentication credentials not found.", "INVALID_AUTHENTICATION");

    let m =
      /^\/crm\/v3\/objects\/(contacts|companies|deals)(\/search|\/batch\/(create|update|upsert))?$/.exec(
        req.path,
      );
    if (m) {
      const type = m[1];
      if (req.method === "GET" && !m[2]) {
        const limit = Math.min(Number(req.query.limit ?? 10), 100);
        const after = Number(req.query.after ?? 0);
        const props = req.query.properties ? req.query.properties.split(",") : undefined;
        const results = objects[type].slice(after, after + limit).map((r) => view(r, props));
        const next =
          after + limit < objects[type].length
            ? { paging: { next: { after: String(after + limit), link: "..." } } }
            : {};
        return { body: { results, ...next } };
      }
      if (req.method === "POST" && m[2] === "/search") {
        const body = JSON.parse(req.body || "{}");
        const limit = body.limit ?? 10;
        if (limit > 200) return error(400, "limit must be at most 200", "VALIDATION_ERROR");
        const after = Number(body.after ?? 0);
        if (after + limit > limits.searchCap)
          return error(
            400,
            "There was a problem with the request: the search can page through at most 10,000 results",
            "VALIDATION_ERROR",
          );
        const groups = body.filterGroups ?? [];
        let found = objects[type].filter(
          (r) =>
            groups.length === 0 ||
            groups.some((g) => (g.filters ?? []).every((f) => compare(r.properties[f.propertyName], f))),
        );
        for (const s of [...(body.sorts ?? [])].reverse()) {
          const key = typeof s === "string" ? s : s.propertyName;
          const dir = typeof s === "string" || s.direction !== "DESCENDING" ? 1 : -1;
          found = [...found].sort((a, b) => {
            const x = a.properties[key] ?? "";
            const y = b.properties[key] ?? "";
            return (x < y ? -1 : x > y ? 1 : Number(a.id) - Number(b.id)) * dir;
          });
        }
        const page = found.slice(after, after + limit).map((r) => view(r, body.properties));
        const more = after + limit < found.length;
        return {
          body: {
            total: found.length,
            results: page,
            ...(more ? { paging: { next: { after: String(after + limit), link: "..." } } } : {}),
          },
        };
      }
      if (req.method === "POST" && m[3]) {
        const { inputs } = JSON.parse(req.body || "{}");
        return batch(type, m[3], inputs);
      }
    }
    m =
      /^\/crm\/v4\/associations\/(contacts|companies|deals)\/(contacts|companies|deals)\/batch\/associate\/default$/.exec(
        req.path,
      );
    if (m && req.method === "POST") {
      const [, from, to] = m;
      const { inputs } = JSON.parse(req.body || "{}");
      if (!Array.isArray(inputs) || inputs.length > 2000)
        return error(400, "Batch input must contain between 1 and 2000 inputs", "VALIDATION_ERROR");
      const now = new Date(clock()).toISOString();
      const results = [];
      const errors = [];
      for (const i of inputs) {
        const fromId = String(i?.from?.id ?? "");
        const toId = String(i?.to?.id ?? "");
        const missing = [
          !find(from, fromId) && `${from} ${fromId}`,
          !find(to, toId) && `${to} ${toId}`,
        ].filter(Boolean);
        if (missing.length) {
          errors.push({
            status: "error",
            category: "OBJECT_NOT_FOUND",
            message: `No ${missing.join(" or ")} exists`,
            context: { fromObjectId: [fromId], toObjectId: [toId] },
          });
          continue;
        }
        const typeId = DEFAULT_TYPE[`${from}:${to}`];
        associations.push({ from, fromId, to, toId, typeId });
        results.push({
          from: { id: fromId },
          to: { id: toId },
          associationSpec: { associationCategory: "HUBSPOT_DEFINED", associationTypeId: typeId },
        });
      }
      const body = { status: "COMPLETE", results, startedAt: now, completedAt: now };
      if (errors.length) return { status: 207, body: { ...body, numErrors: errors.length, errors } };
      return { status: 200, body };
    }
    m =
      /^\/crm\/v4\/objects\/(contacts|companies|deals)\/([^/]+)\/associations\/(contacts|companies|deals)$/.exec(
        req.path,
      );
    if (m && req.method === "GET") {
      const [, from, id, to] = m;
      const limit = Math.min(Number(req.query.limit ?? 500), 500);
      const after = Number(req.query.after ?? 0);
      const all = associations
        .filter((a) => a.from === from && a.fromId === id && a.to === to)
        .map((a) => ({
          toObjectId: Number(a.toId),
          associationTypes: [{ category: "HUBSPOT_DEFINED", typeId: a.typeId, label: null }],
        }));
      const more = after + limit < all.length;
      return {
        body: {
          results: all.slice(after, after + limit),
          ...(more ? { paging: { next: { after: String(after + limit), link: "..." } } } : {}),
        },
      };
    }
    return { status: 404, body: { status: "error", message: "not found" } };
  });
  return {
    ...server,
    created,
    objects,
    associations,
    limits,
    /** The next n requests (after `after` that pass) are answered `status`. */
    failNext: (n, status = 429, after = 0) =>
      (failures = [...Array(after).fill(undefined), ...Array(n).fill(status)]),
  };
}

module.exports = { startHubSpot };
