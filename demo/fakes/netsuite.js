// A fake of NetSuite's REST web services as documented, keeping state:
// - Token-based authentication: OAuth 1.0a with HMAC-SHA256 and realm = the account id
//   (1234567_SB1). The signature is recomputed here (RFC 5849: method, base URL, the query and
//   oauth_* parameters but realm and the signature, sorted) and compared; a wrong key, a reused
//   nonce, a timestamp over 5 minutes off or a wrong realm is 401 INVALID_LOGIN, NetSuite's
//   answer (RFC 9457 problem details with o:errorDetails), which names no key.
// - REST Record API under /services/rest/record/v1: customer, salesOrder, inventoryItem. Lists
//   page by limit (at most 1000) and offset with { links, count, hasMore, items, offset,
//   totalResults }; items are ids and links; a record is read by id. POST creates (204 with a
//   Location header), PATCH updates (204), an invalid record is 400 with o:errorDetails naming
//   the field; `Prefer: respond-async` makes a create a job: 202 with Location
//   /services/rest/async/v1/job/{id}, the record created when the job is read.
// - SuiteQL: POST /services/rest/query/v1/suiteql with `Prefer: transient` (required here, as
//   NetSuite documents it) and { q }, paged like lists; a tiny SELECT … FROM <table> [WHERE
//   field = 'value'] is understood. Past 100,000 rows is a 400.
// - Upsert by external id: PUT /services/rest/record/v1/<type>/eid:<externalId> creates the record
//   with that externalId or updates the one that has it (204 with a Location either way); a body
//   externalId other than the URL's is 400.
// - A customer with isPerson true needs firstName and lastName instead of companyName. With
//   `references: true`, a sales order's entity must be a customer and each line's item an
//   inventory item of the account (400 "Invalid Field Value", naming the field), as NetSuite checks.
// - SuiteQL WHERE also takes LOWER(field) = 'value' (case-insensitive) and '' for a quote.
// - `failNext(n, status)`: the next n requests answer 429 CONCURRENCY_LIMIT_EXCEEDED (NetSuite's
//   concurrency governance; it sends no Retry-After) or a 5xx.
const crypto = require("node:crypto");
const { startServer } = require("./http-server");

const rfc3986 = (v) =>
  encodeURIComponent(v).replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);

function problem(status, title, detail, code, path) {
  return {
    status,
    type: "application/vnd.oracle.resource+json; type=error",
    body: {
      type: `https://www.rfc-editor.org/rfc/rfc9110.html#section-15.${status >= 500 ? 6 : 5}.${status === 400 ? 1 : status === 401 ? 2 : status === 404 ? 5 : 1}`,
      title,
      status,
      "o:errorDetails": [{ detail, "o:errorCode": code, ...(path ? { "o:errorPath": path } : {}) }],
    },
  };
}

function parseAuthHeader(header) {
  if (!header || !header.startsWith("OAuth ")) return undefined;
  const out = {};
  for (const m of header.slice(6).matchAll(/([\w]+)="([^"]*)"/g)) out[m[1]] = decodeURIComponent(m[2]);
  return out;
}

const TYPES = { customer: "customer", salesorder: "salesOrder", inventoryitem: "inventoryItem" };
const REQUIRED = { customer: "companyName", salesOrder: "entity", inventoryItem: "itemId" };

async function startNetSuite({
  account = "1234567_SB1",
  consumerKey = "ck-test",
  consumerSecret = "cs-test",
  token = "tk-test",
  tokenSecret = "ts-test",
  records = {},
  references = false,
  clock = () => Date.now(),
} = {}) {
  const data = { customer: [], salesOrder: [], inventoryItem: [], ...records };
  const nonces = new Set();
  const jobs = new Map();
  const upserts = [];
  let nextId = 1000;
  let failures = [];
  let base;

  const checkAuth = (req) => {
    const invalid = () =>
      problem(
        401,
        "Unauthorized",
        "Invalid login attempt. For more details, see the Login Audit Trail in the NetSuite UI at Setup > Users/Roles > User Management > View Login Audit Trail.",
        "INVALID_LOGIN",
      );
    const o = parseAuthHeader(req.headers.authorization);
    if (!o) return invalid();
    if (o.realm !== account || o.oauth_consumer_key !== consumerKey || o.oauth_token !== token)
      return invalid();
    if (o.oauth_signature_method !== "HMAC-SHA256" || o.oauth_version !== "1.0") return invalid();
    if (Math.abs(clock() / 1000 - Number(o.oauth_timestamp)) > 300) return invalid();
    if (!o.oauth_nonce || nonces.has(o.oauth_nonce)) return invalid();
    const params = [
      ...Object.entries(req.query),
      ...Object.entries(o).filter(([k]) => k !== "realm" && k !== "oauth_signature"),
    ]
      .map(([k, v]) => [rfc3986(k), rfc3986(String(v))])
      .sort((a, b) => (a[0] === b[0] ? (a[1] < b[1] ? -1 : 1) : a[0] < b[0] ? -1 : 1))
      .map(([k, v]) => `${k}=${v}`)
      .join("&");
    const baseString = [req.method, rfc3986(`${base}${req.path}`), rfc3986(params)].join("&");
    const expected = crypto
      .createHmac("sha256", `${rfc3986(consumerSecret)}&${rfc3986(tokenSecret)}`)
      .update(baseString)
      .digest("base64");
    if (o.oauth_signature !== expected) return invalid();
    nonces.add(o.oauth_nonce);
    return undefined;
  };

  const page = (all, req, link) => {
    const limit = Number(req.query.limit ?? 1000);
    const offset = Number(req.query.offset ?? 0);
    if (!Number.isInteger(limit) || limit < 1 || limit > 1000)
      return problem(
        400,
        "Bad Request",
        "Invalid value for the parameter 'limit'. Provided value must be between 1 and 1000.",
        "INVALID_PARAMETER",
      );
    const items = all.slice(offset, offset + limit);
    return {
      body: {
        links: [{ rel: "self", href: `${base}${req.path}?limit=${limit}&offset=${offset}` }],
        count: items.length,
        hasMore: offset + items.length < all.length,
        items: items.map(link),
        offset,
        totalResults: all.length,
      },
    };
  };

  const validate = (type, record, creating) => {
    const needs =
      type === "customer" && record.isPerson === true ? ["firstName", "lastName"] : [REQUIRED[type]];
    const need = needs.find((n) => record[n] === undefined || record[n] === "");
    if (creating && need)
      return problem(
        400,
        "Bad Request",
        `Error while accessing a resource. Please enter value(s) for: ${need}.`,
        "USER_ERROR",
        need,
      );
    if (record.email !== undefined && !/^[^\s@]+@[^\s@]+$/.test(record.email))
      return problem(400, "Bad Request", `Invalid email address: ${record.email}.`, "USER_ERROR", "email");
    if (references && type === "salesOrder") {
      const invalid = (value, field) =>
        problem(
          400,
          "Bad Request",
          `Error while accessing a resource. Invalid Field Value ${value} for the following field: ${field}`,
          "USER_ERROR",
          field,
        );
      const entity = record.entity?.id;
      if (entity !== undefined && !data.customer.some((c) => c.id === String(entity)))
        return invalid(entity, "entity");
      for (const [i, line] of (record.item?.items ?? []).entries()) {
        const item = line?.item?.id;
        if (!data.inventoryItem.some((x) => x.id === String(item)))
          return invalid(item, `item.items[${i}].item`);
      }
    }
    return undefined;
  };
  const create = (type, record) => {
    const made = { id: String(nextId++), ...record, lastModifiedDate: new Date(clock()).toISOString() };
    data[type].push(made);
    return made;
  };

  const server = await startServer((req) => {
    const denied = checkAuth(req);
    if (denied) return denied;
    if (failures.length) {
      const status = failures.shift();
      if (status === 429)
        return problem(
          429,
          "Too Many Requests",
          "Concurrent request limit exceeded. Request blocked.",
          "CONCURRENCY_LIMIT_EXCEEDED",
        );
      return problem(status, "Internal Server Error", "An unexpected error occurred.", "UNEXPECTED_ERROR");
    }
    let m = /^\/services\/rest\/record\/v1\/(\w+)(?:\/([^/]+))?$/.exec(req.path);
    if (m) {
      const type = TYPES[m[1].toLowerCase()];
      if (!type) return problem(404, "Not Found", `Record type '${m[1]}' does not exist.`, "NONEXISTENT_ID");
      const link = (r) => ({
        links: [{ rel: "self", href: `${base}/services/rest/record/v1/${m[1]}/${r.id}` }],
        id: r.id,
      });
      if (req.method === "GET" && !m[2]) return page(data[type], req, link);
      const found = m[2] && data[type].find((r) => r.id === m[2]);
      if (req.method === "GET") {
        if (!found)
          return problem(
            404,
            "Record not found",
            `The record instance does not exist. Provide a valid record instance ID.`,
            "NONEXISTENT_ID",
          );
        return { body: { links: [{ rel: "self", href: `${base}${req.path}` }], ...found } };
      }
      const body = JSON.parse(req.body || "{}");
      if (req.method === "POST" && !m[2]) {
        const bad = validate(type, body, true);
        if (bad) return bad;
        if (/respond-async/.test(req.headers.prefer ?? "")) {
          const job = String(jobs.size + 1);
          jobs.set(job, { type, body, done: undefined });
          return { status: 202, headers: { location: `${base}/services/rest/async/v1/job/${job}` } };
        }
        const made = create(type, body);
        return { status: 204, headers: { location: `${base}/services/rest/record/v1/${m[1]}/${made.id}` } };
      }
      const eid = m[2] && /^eid:(.+)$/.exec(decodeURIComponent(m[2]));
      if (req.method === "PUT" && eid) {
        if (body.externalId !== undefined && String(body.externalId) !== eid[1])
          return problem(
            400,
            "Bad Request",
            `The externalId in the body (${body.externalId}) is not the one in the URL (${eid[1]}).`,
            "USER_ERROR",
            "externalId",
          );
        const had = data[type].find((r) => r.externalId === eid[1]);
        const bad = validate(type, body, !had);
        if (bad) return bad;
        const now = new Date(clock()).toISOString();
        const rec = had
          ? Object.assign(had, body, { externalId: eid[1], lastModifiedDate: now })
          : create(type, { ...body, externalId: eid[1] });
        upserts.push({ type, externalId: eid[1], id: rec.id, created: !had });
        return { status: 204, headers: { location: `${base}/services/rest/record/v1/${m[1]}/${rec.id}` } };
      }
      if (req.method === "PATCH" && m[2]) {
        if (!found)
          return problem(
            404,
            "Record not found",
            "The record instance does not exist. Provide a valid record instance ID.",
            "NONEXISTENT_ID",
          );
        const bad = validate(type, body, false);
        if (bad) return bad;
        Object.assign(found, body, { lastModifiedDate: new Date(clock()).toISOString() });
        return { status: 204 };
      }
    }
    m = /^\/services\/rest\/async\/v1\/job\/(\d+)$/.exec(req.path);
    if (m && req.method === "GET") {
      const job = jobs.get(m[1]);
      if (!job) return problem(404, "Not Found", "The job does not exist.", "NONEXISTENT_ID");
      job.done ??= create(job.type, job.body);
      return { body: { id: m[1], completed: true, progress: "succeeded" } };
    }
    if (req.path === "/services/rest/query/v1/suiteql" && req.method === "POST") {
      if (!/transient/.test(req.headers.prefer ?? ""))
        return problem(
          400,
          "Bad Request",
          "The request header Prefer: transient is required for SuiteQL.",
          "INVALID_HEADER",
        );
      if (Number(req.query.offset ?? 0) >= 100000)
        return problem(
          400,
          "Bad Request",
          "SuiteQL queries through REST return at most 100,000 results.",
          "INVALID_PARAMETER",
        );
      const { q } = JSON.parse(req.body || "{}");
      const sql =
        /^\s*SELECT\s+(.+?)\s+FROM\s+(\w+)(?:\s+WHERE\s+(\w+|LOWER\(\w+\))\s*=\s*'((?:[^']|'')*)')?(?:\s+ORDER BY\s+(\w+))?\s*$/i.exec(
          q ?? "",
        );
      if (!sql)
        return problem(
          400,
          "Bad Request",
          `Invalid search query: ${String(q).slice(0, 40)}`,
          "INVALID_PARAMETER",
        );
      const type =
        TYPES[sql[2].toLowerCase()] ?? (sql[2].toLowerCase() === "transaction" ? "salesOrder" : undefined);
      if (!type)
        return problem(
          400,
          "Bad Request",
          `Invalid search query. Unknown identifier '${sql[2]}'.`,
          "INVALID_PARAMETER",
        );
      const cols = sql[1].trim() === "*" ? undefined : sql[1].split(",").map((c) => c.trim());
      const lowered = sql[3] && /^LOWER\((\w+)\)$/i.exec(sql[3]);
      const field = lowered ? lowered[1] : sql[3];
      const wanted = sql[4]?.replace(/''/g, "'");
      const column = (r) => Object.keys(r).find((k) => k.toLowerCase() === String(field).toLowerCase());
      let rows = data[type].filter((r) => {
        if (!sql[3]) return true;
        const v = r[column(r)];
        if (v === undefined || v === null) return false;
        return lowered ? String(v).toLowerCase() === wanted : String(v) === wanted;
      });
      if (sql[5]) rows = [...rows].sort((a, b) => (String(a[sql[5]]) < String(b[sql[5]]) ? -1 : 1));
      const lower = (r) =>
        Object.fromEntries(
          Object.entries(r)
            .filter(([k]) => !cols || cols.map((c) => c.toLowerCase()).includes(k.toLowerCase()))
            .filter(([, v]) => typeof v !== "object")
            .map(([k, v]) => [k.toLowerCase(), String(v)]),
        );
      return page(rows, req, (r) => ({ links: [], ...lower(r) }));
    }
    return problem(404, "Not Found", "The requested resource does not exist.", "NONEXISTENT_ID");
  });
  base = server.base;
  return {
    ...server,
    data,
    jobs,
    upserts,
    failNext: (n, status = 429) => (failures = Array(n).fill(status)),
  };
}

module.exports = { startNetSuite };
