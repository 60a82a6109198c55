// A fake of Klaviyo's JSON:API (https://developers.klaviyo.com/en/reference/api_overview) as
// documented: `Authorization: Klaviyo-API-Key <private key>` (401 not_authenticated without it,
// authentication_failed with a wrong one), a `revision` header on every call (400 without),
// `application/vnd.api+json` bodies (415 otherwise). Profiles: GET /api/profiles paged by
// page[size] (1 to 100, default 20) and page[cursor], links.next an absolute URL carrying the
// cursor and null on the last page; GET /api/profiles/{id}; POST /api/profiles (201, 409
// duplicate_profile with meta.duplicate_profile_id when the email exists); PATCH
// /api/profiles/{id} (the body's data.id must be the path's). Subscriptions: POST
// /api/profile-subscription-bulk-create-jobs (202, no body; at most 1000 profiles, each with an
// email or phone number; the list in relationships.list) which records the consent on the
// profiles so it can be read back; with historical_import each profile needs a past
// consented_at, and without it a consented_at is refused (as Klaviyo documents); subscribing
// lifts an UNSUBSCRIBE suppression. POST /api/profile-subscription-bulk-delete-jobs (202; at
// most 100 profiles; a profile not found by its email is created) sets email marketing consent
// to UNSUBSCRIBED with an UNSUBSCRIBE suppression and removes the profile from the list.
// POST /api/profile-import creates or updates a profile found by id, email, phone_number or
// external_id (201 created, 200 updated; subscriptions are not accepted there).
// Events: POST /api/events (202, no body; a metric name and a profile identifier are required). Errors are JSON:API `errors[]` with id, status, code, title,
// detail and source.pointer. Rate limits as Klaviyo documents them: a fixed 1-second burst
// window (per the test's `burst`), 429 with Retry-After and the error code "throttled"; other
// answers carry RateLimit-Limit, RateLimit-Remaining and RateLimit-Reset. `failNext(n, status)`
// makes the next n requests answer that status (retry tests).
const crypto = require("node:crypto");
const { startServer } = require("./http-server");

const JSONAPI = "application/vnd.api+json";

function error(status, code, title, detail, pointer) {
  return {
    status,
    type: JSONAPI,
    body: {
      errors: [
        {
          id: crypto.randomUUID(),
          status,
          code,
          title,
          detail,
          source: pointer === undefined ? {} : { pointer },
          links: {},
          meta: {},
        },
      ],
    },
  };
}

async function startKlaviyo({ apiKey = "pk_test_klaviyo", profiles = [], burst = 1000 } = {}) {
  const state = { profiles: [], events: [], jobs: [], imports: [] };
  let seq = 0;
  const newId = () => `01K${String(++seq).padStart(23, "0")}`;
  for (const p of profiles) state.profiles.push({ id: p.id ?? newId(), attributes: { ...p.attributes } });
  let windowStart = 0;
  let inWindow = 0;
  const fail = { count: 0, status: 500 };
  const resource = (p) => ({
    type: "profile",
    id: p.id,
    attributes: p.attributes,
    links: { self: `${server.base}/api/profiles/${p.id}/` },
  });
  /** Klaviyo's 400 for a profile input it cannot take, or undefined (an import may name the profile by id). */
  const refuseProfile = (data, idIdentifies) => {
    if (!data || data.type !== "profile" || !data.attributes)
      return error(400, "invalid", "Invalid input.", "'data' must be a profile with attributes.", "/data");
    const a = data.attributes;
    if (!a.email && !a.phone_number && !a.external_id && !(idIdentifies && data.id))
      return error(
        400,
        "invalid",
        "Invalid input.",
        "One of email, phone_number or external_id is required.",
        "/data/attributes",
      );
    if (a.email && !/^[^@\s]+@[^@\s]+\.[^@\s]+$/.test(a.email))
      return error(
        400,
        "invalid",
        "Invalid input.",
        `Invalid email address: ${a.email}`,
        "/data/attributes/email",
      );
    return undefined;
  };
  const server = await startServer((req) => {
    const now = Date.now();
    if (now - windowStart >= 1000) {
      windowStart = now;
      inWindow = 0;
    }
    inWindow += 1;
    if (inWindow > burst) {
      const out = error(
        429,
        "throttled",
        "Request was throttled.",
        "Request was throttled. Expected available in 1 second.",
      );
      return { ...out, headers: { "retry-after": "1" } };
    }
    const limits = {
      "ratelimit-limit": "700",
      "ratelimit-remaining": String(Math.max(0, 700 - inWindow)),
      "ratelimit-reset": "60",
    };
    const auth = req.headers.authorization;
    if (!auth)
      return error(
        401,
        "not_authenticated",
        "Authentication credentials were not provided.",
        "Missing or invalid private key.",
        "/data/",
      );
    if (auth !== `Klaviyo-API-Key ${apiKey}`)
      return error(
        401,
        "authentication_failed",
        "Incorrect authentication credentials.",
        "Incorrect authentication credentials.",
        "/data/",
      );
    if (!/^\d{4}-\d{2}-\d{2}(\.pre)?$/.test(req.headers.revision ?? ""))
      return error(
        400,
        "invalid",
        "Invalid input.",
        "The 'revision' header is required and must be a date, e.g. 2025-10-15.",
        "/revision",
      );
    if (fail.count > 0) {
      fail.count -= 1;
      if (fail.status === 429)
        return {
          ...error(
            429,
            "throttled",
            "Request was throttled.",
            "Request was throttled. Expected available in 1 second.",
          ),
          headers: { "retry-after": "1" },
        };
      return error(fail.status, "error", "A server error occurred.", "A server error occurred.");
    }
    const ok = (status, body) => ({ status, type: JSONAPI, headers: limits, body });
    let body;
    if (req.method === "POST" || req.method === "PATCH") {
      if (!String(req.headers["content-type"] ?? "").startsWith(JSONAPI))
        return error(
          415,
          "unsupported_media_type",
          "Unsupported media type.",
          `Unsupported media type "${req.headers["content-type"]}" in request.`,
        );
      try {
        body = JSON.parse(req.body || "{}");
      } catch {
        return error(400, "parse_error", "Malformed request.", "JSON parse error.");
      }
    }
    const one = /^\/api\/profiles\/([^/]+)\/?$/.exec(req.path);
    if (req.method === "GET" && /^\/api\/profiles\/?$/.test(req.path)) {
      const size = req.query["page[size]"] === undefined ? 20 : Number(req.query["page[size]"]);
      if (!Number.isInteger(size) || size < 1 || size > 100)
        return error(
          400,
          "invalid",
          "Invalid input.",
          "Page size must be an integer between 1 and 100.",
          "/page[size]",
        );
      let list = state.profiles;
      const f = /^equals\(email,"(.*)"\)$/.exec(req.query.filter ?? "");
      if (req.query.filter && !f)
        return error(
          400,
          "invalid",
          "Invalid input.",
          `'${req.query.filter}' is not a supported filter.`,
          "/filter",
        );
      if (f) list = list.filter((p) => p.attributes.email === f[1]);
      const start = req.query["page[cursor]"]
        ? Number(Buffer.from(req.query["page[cursor]"], "base64url").toString())
        : 0;
      const page = list.slice(start, start + size);
      const link = (at) => {
        const u = new URL(`${server.base}/api/profiles/`);
        for (const [k, v] of Object.entries(req.query)) if (k !== "page[cursor]") u.searchParams.set(k, v);
        u.searchParams.set("page[cursor]", Buffer.from(String(at)).toString("base64url"));
        return u.toString();
      };
      return ok(200, {
        data: page.map(resource),
        links: {
          self: `${server.base}${req.path}`,
          next: start + size < list.length ? link(start + size) : null,
          prev: start > 0 ? link(Math.max(0, start - size)) : null,
        },
      });
    }
    if (req.method === "GET" && one) {
      const p = state.profiles.find((x) => x.id === one[1]);
      if (!p) return error(404, "not_found", "Not found.", `A profile with id ${one[1]} does not exist.`);
      return ok(200, { data: resource(p), links: { self: `${server.base}${req.path}` } });
    }
    if (req.method === "POST" && /^\/api\/profiles\/?$/.test(req.path)) {
      const data = body.data;
      const refused = refuseProfile(data, false);
      if (refused) return refused;
      const a = data.attributes;
      const dup = a.email && state.profiles.find((p) => p.attributes.email === a.email);
      if (dup) {
        const out = error(
          409,
          "duplicate_profile",
          "Conflict.",
          "A profile already exists with one of these identifiers.",
          "/data/attributes",
        );
        out.body.errors[0].meta = { duplicate_profile_id: dup.id };
        return out;
      }
      const now = new Date().toISOString();
      const p = { id: newId(), attributes: { ...a, created: now, updated: now } };
      state.profiles.push(p);
      return ok(201, { data: resource(p) });
    }
    if (req.method === "PATCH" && one) {
      const p = state.profiles.find((x) => x.id === one[1]);
      if (!p) return error(404, "not_found", "Not found.", `A profile with id ${one[1]} does not exist.`);
      const data = body.data;
      if (!data || data.type !== "profile" || data.id !== one[1])
        return error(
          409,
          "conflict",
          "Conflict.",
          "The id in the body does not match the id in the path.",
          "/data/id",
        );
      Object.assign(p.attributes, data.attributes ?? {}, { updated: new Date().toISOString() });
      return ok(200, { data: resource(p) });
    }
    if (req.method === "POST" && req.path === "/api/profile-subscription-bulk-create-jobs") {
      const data = body.data;
      if (!data || data.type !== "profile-subscription-bulk-create-job")
        return error(
          400,
          "invalid",
          "Invalid input.",
          "'data.type' must be profile-subscription-bulk-create-job.",
          "/data/type",
        );
      const list = data.relationships?.list?.data?.id;
      if (!list)
        return error(400, "invalid", "Invalid input.", "A list is required.", "/data/relationships/list");
      const items = data.attributes?.profiles?.data;
      if (!Array.isArray(items) || items.length === 0)
        return error(
          400,
          "invalid",
          "Invalid input.",
          "At least one profile is required.",
          "/data/attributes/profiles/data",
        );
      if (items.length > 1000)
        return error(
          400,
          "invalid",
          "Invalid input.",
          "A job may subscribe at most 1000 profiles.",
          "/data/attributes/profiles/data",
        );
      const bad = items.findIndex((i) => !i?.attributes?.email && !i?.attributes?.phone_number);
      if (bad >= 0)
        return error(
          400,
          "invalid",
          "Invalid input.",
          "Each profile needs an email or a phone_number.",
          `/data/attributes/profiles/data/${bad}/attributes`,
        );
      const historical = data.attributes.historical_import === true;
      for (const [n, i] of items.entries()) {
        const at = i.attributes.subscriptions?.email?.marketing?.consented_at;
        const pointer = `/data/attributes/profiles/data/${n}/attributes/subscriptions/email/marketing/consented_at`;
        if (historical && (at === undefined || Number.isNaN(Date.parse(at)) || Date.parse(at) > Date.now()))
          return error(
            400,
            "invalid",
            "Invalid input.",
            "consented_at must be a date and time in the past when historical_import is true.",
            pointer,
          );
        if (!historical && at !== undefined)
          return error(
            400,
            "invalid",
            "Invalid input.",
            "consented_at may only be provided when historical_import is true.",
            pointer,
          );
      }
      for (const i of items) {
        let p = state.profiles.find((x) => x.attributes.email === i.attributes.email);
        if (!p) state.profiles.push((p = { id: newId(), attributes: { email: i.attributes.email } }));
        p.attributes.subscriptions = i.attributes.subscriptions ?? {
          email: { marketing: { consent: "SUBSCRIBED" } },
        };
        p.suppression = (p.suppression ?? []).filter((s) => s.reason !== "UNSUBSCRIBE");
        p.lists = [...new Set([...(p.lists ?? []), list])];
      }
      state.jobs.push({
        kind: "subscribe",
        list,
        count: items.length,
        source: data.attributes.custom_source,
        historical,
      });
      return { status: 202, headers: limits, body: "" };
    }
    if (req.method === "POST" && req.path === "/api/profile-subscription-bulk-delete-jobs") {
      const data = body.data;
      if (!data || data.type !== "profile-subscription-bulk-delete-job")
        return error(
          400,
          "invalid",
          "Invalid input.",
          "'data.type' must be profile-subscription-bulk-delete-job.",
          "/data/type",
        );
      const list = data.relationships?.list?.data?.id;
      const items = data.attributes?.profiles?.data;
      if (!Array.isArray(items) || items.length === 0 || items.length > 100)
        return error(
          400,
          "invalid",
          "Invalid input.",
          "Between 1 and 100 profiles may be unsubscribed in one job.",
          "/data/attributes/profiles/data",
        );
      const bad = items.findIndex((i) => !i?.attributes?.email && !i?.attributes?.phone_number);
      if (bad >= 0)
        return error(
          400,
          "invalid",
          "Invalid input.",
          "Each profile needs an email or a phone_number.",
          `/data/attributes/profiles/data/${bad}/attributes`,
        );
      const now = new Date().toISOString();
      for (const i of items) {
        let p = state.profiles.find((x) => x.attributes.email === i.attributes.email);
        if (!p) state.profiles.push((p = { id: newId(), attributes: { email: i.attributes.email } }));
        p.attributes.subscriptions = {
          ...p.attributes.subscriptions,
          email: { marketing: { consent: "UNSUBSCRIBED", consent_timestamp: now } },
        };
        p.suppression = [
          ...(p.suppression ?? []).filter((s) => s.reason !== "UNSUBSCRIBE"),
          { reason: "UNSUBSCRIBE", timestamp: now },
        ];
        if (list) p.lists = (p.lists ?? []).filter((l) => l !== list);
      }
      state.jobs.push({ kind: "unsubscribe", list, count: items.length });
      return { status: 202, headers: limits, body: "" };
    }
    if (req.method === "POST" && req.path === "/api/profile-import") {
      const data = body.data;
      const refused = refuseProfile(data, true);
      if (refused) return refused;
      const a = data.attributes;
      if ("subscriptions" in a)
        return error(
          400,
          "invalid",
          "Invalid input.",
          "'subscriptions' is not a valid field for the resource 'profile'.",
          "/data/attributes/subscriptions",
        );
      const now = new Date().toISOString();
      const found =
        (data.id && state.profiles.find((p) => p.id === data.id)) ||
        (a.email && state.profiles.find((p) => p.attributes.email === a.email)) ||
        (a.phone_number && state.profiles.find((p) => p.attributes.phone_number === a.phone_number)) ||
        (a.external_id && state.profiles.find((p) => p.attributes.external_id === a.external_id));
      if (found) {
        const { properties, ...rest } = a;
        Object.assign(found.attributes, rest, { updated: now });
        if (properties) found.attributes.properties = { ...found.attributes.properties, ...properties };
        state.imports.push({ id: found.id, created: false });
        return ok(200, { data: resource(found) });
      }
      const p = { id: newId(), attributes: { ...a, created: now, updated: now } };
      state.profiles.push(p);
      state.imports.push({ id: p.id, created: true });
      return ok(201, { data: resource(p) });
    }
    if (req.method === "POST" && req.path === "/api/events") {
      const a = body.data?.attributes;
      if (!a || body.data.type !== "event")
        return error(400, "invalid", "Invalid input.", "'data' must be an event with attributes.", "/data");
      if (!a.metric?.data?.attributes?.name)
        return error(
          400,
          "invalid",
          "Invalid input.",
          "A metric name is required.",
          "/data/attributes/metric/data/attributes/name",
        );
      const who = a.profile?.data?.attributes ?? {};
      if (!who.email && !who.phone_number && !who.external_id && !a.profile?.data?.id)
        return error(
          400,
          "invalid",
          "Invalid input.",
          "A profile identifier is required.",
          "/data/attributes/profile/data/attributes",
        );
      state.events.push(a);
      return { status: 202, headers: limits, body: "" };
    }
    return error(404, "not_found", "Not found.", `${req.method} ${req.path} does not exist.`);
  });
  return {
    ...server,
    state,
    failNext(count, status = 500) {
      fail.count = count;
      fail.status = status;
    },
    setBurst(n) {
      burst = n;
    },
  };
}

module.exports = { startKlaviyo };
