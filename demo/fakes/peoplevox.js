// Descartes Peoplevox as the demo's stand-in: a real SOAP server (the `soap` package) serving
// Peoplevox's integration service as documented: Authenticate (client id, username and the
// password base64-encoded) answers "<client id>,<session id>" in Detail; later calls carry the
// session in the UserSessionCredentials SOAP header and answer ResponseId -1 with the reason in
// Detail when it is missing or expired (Peoplevox says so in a 200, not a 401). GetData pages a
// template's rows as CSV text in Detail with TotalCount; SaveData takes CSV, creates or updates
// rows by the template's key and lists refused lines in Statuses (LineNo counts data lines from
// 1). SubscribeEvent (GET to a callback URL) and SubscribePostEvent (POST of form parameters)
// register callbacks that `emit(eventType, data)` calls, filling {Field} placeholders; an event
// type Peoplevox does not document is refused.
//
// `soap` is a devDependency: require this file only where it is installed (tests, the demo
// from a checkout).
//
// Switches: `failNext(n, kind, after, operation)` (kind "fault": a SOAP fault with 500; "http":
// a plain 503; "slow": answers after `slowMs`; "expired": the session, valid until then, is
// refused as expired, as when the user signs in elsewhere mid-run; `operation`, e.g. "GetData",
// counts only that SOAP operation's POSTs, so a switch can skip the sign-in a run starts with),
// `expireSessions()`, `seed(template, rows)`, `rows(template)`. `log` lists every POST as
// { at, operation, failed }.
const http = require("node:http");
const fs = require("node:fs");
const path = require("node:path");
const crypto = require("node:crypto");

const WSDL = fs.readFileSync(path.join(__dirname, "peoplevox.wsdl"), "utf8");
const SERVICE_PATH = "/resources/integrationservicev4.asmx";

/** The column(s) a template's rows are keyed by: a saved row with the same key updates it. */
const KEYS = {
  "Item types": ["ItemCode"],
  "Sales orders": ["SalesOrderNumber"],
  "Sales order lines": ["SalesOrderNumber", "ItemCode"],
  "Despatch packages": ["DespatchNumber"],
  Customers: ["CustomerReference"],
};
/** The event types Peoplevox documents; it refuses a subscription to any other. */
const EVENT_TYPES = [
  "AvailabilityChanges",
  "SalesOrderStatusChanges",
  "GoodsReceived",
  "TrackingNumberReceived",
  "IncrementalChanges",
  "Returns",
  "DespatchPackageTrackingNumberReceived",
  "OnDespatchOrderReceived",
  "DespatchPackageDespatched",
];
/** Columns a saved row must have (Peoplevox refuses the line otherwise). */
const REQUIRED = {
  "Item types": ["ItemCode", "Name"],
  "Sales orders": ["SalesOrderNumber"],
  "Sales order lines": ["SalesOrderNumber", "ItemCode", "Quantity"],
};

function parseCsv(text) {
  const rows = [];
  let row = [];
  let field = "";
  let quoted = false;
  for (let i = 0; i < text.length; i++) {
    const ch = text[i];
    if (quoted) {
      if (ch === '"' && text[i + 1] === '"') ((field += '"'), i++);
      else if (ch === '"') quoted = false;
      else field += ch;
    } else if (ch === '"' && field === "") quoted = true;
    else if (ch === ",") (row.push(field), (field = ""));
    else if (ch === "\n" || ch === "\r") {
      if (ch === "\r" && text[i + 1] === "\n") i++;
      (row.push(field), (field = ""));
      if (!(row.length === 1 && row[0] === "")) rows.push(row);
      row = [];
    } else field += ch;
  }
  if (field !== "" || row.length) (row.push(field), rows.push(row));
  return rows;
}

function toCsv(columns, rows) {
  const q = (v) => {
    const s = v === undefined || v === null ? "" : String(v);
    return /[",\r\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
  };
  return [columns.map(q).join(","), ...rows.map((r) => columns.map((c) => q(r[c])).join(","))].join("\r\n");
}

/** Peoplevox search clauses, the part the fake understands: [Field].Equals("v"), [Field] >= "v" (> < <=), joined by AND. */
function matcher(clause) {
  if (!clause || !String(clause).trim()) return () => true;
  const tests = String(clause)
    .split(/\s+AND\s+/i)
    .map((part) => {
      let p = part.trim();
      while (p.startsWith("(") && p.endsWith(")")) p = p.slice(1, -1).trim();
      let m = /^\[([^\]]+)\]\.Equals\("(.*)"\)$/i.exec(p);
      if (m) return (r) => String(r[m[1]] ?? "") === m[2];
      m = /^\[([^\]]+)\]\s*(>=|<=|>|<|=)\s*"(.*)"$/.exec(p);
      if (m) {
        const [, f, op, v] = m;
        return (r) => {
          const a = String(r[f] ?? "");
          return op === ">="
            ? a >= v
            : op === "<="
              ? a <= v
              : op === ">"
                ? a > v
                : op === "<"
                  ? a < v
                  : a === v;
        };
      }
      throw new Error(`Invalid search clause: ${part}`);
    });
  return (r) => tests.every((t) => t(r));
}

async function startPeoplevox({
  clientId = "acme",
  username = "integration",
  password = "pvx-secret",
  sessionSeconds = 3600,
  slowMs = 3000,
} = {}) {
  const soap = require("soap");
  const tables = new Map(); // template → Map(key → row)
  const columns = new Map(); // template → columns in order first seen
  const sessions = new Map(); // session id → expires at (ms)
  const subscriptions = new Map(); // id → { eventType, url, post, params, filter }
  const calls = [];
  const deliveries = [];
  let nextSubscription = 1;
  let failures = []; // one entry per coming POST: null (answer), "fault", "slow" or "http"
  let failOnly; // the SOAP operation the failures count, or every POST
  const log = [];
  let current; // the failure the SOAP operation of this request is to show
  let expireThis = false; // this request's session is refused as expired

  const table = (name) => {
    if (!tables.has(name)) tables.set(name, new Map());
    return tables.get(name);
  };
  const keyOf = (name, row) => (KEYS[name] ?? [Object.keys(row)[0]]).map((k) => row[k] ?? "").join("\u0001");
  const store = (name, row) => {
    const cols = columns.get(name) ?? [];
    for (const k of Object.keys(row)) if (!cols.includes(k)) cols.push(k);
    columns.set(name, cols);
    const t = table(name);
    const key = keyOf(name, row);
    t.set(key, { ...(t.get(key) ?? {}), ...row });
  };
  const result = (name, r) => ({ [`${name}Result`]: { ResponseId: 0, TotalCount: 0, Detail: "", ...r } });
  const refused = (name, detail) => result(name, { ResponseId: -1, Detail: detail });
  /** The session check every call but Authenticate makes. */
  const session = (headers) => {
    if (expireThis) {
      expireThis = false;
      return false;
    }
    const creds = headers && headers.UserSessionCredentials;
    const id = creds && String(creds.SessionId ?? "");
    const until = id ? sessions.get(id) : undefined;
    if (!until || until < Date.now() || String(creds.ClientId) !== clientId) return false;
    return true;
  };
  const failure = async () => {
    const kind = current;
    current = undefined;
    if (kind === "fault")
      // As .NET services answer a fault: HTTP 500.
      throw {
        Fault: {
          faultcode: "soap:Server",
          faultstring: "Server was unable to process request. Service busy",
          statusCode: 500,
        },
      };
    if (kind === "slow") await new Promise((r) => setTimeout(r, slowMs));
  };

  const operations = {
    Authenticate: async (args) => {
      calls.push(["Authenticate", args.username]);
      await failure();
      const given = Buffer.from(String(args.password ?? ""), "base64").toString("utf8");
      if (args.clientId !== clientId || args.username !== username || given !== password)
        return refused("Authenticate", "System : Security - Invalid username or password");
      const id = crypto.randomUUID();
      sessions.set(id, Date.now() + sessionSeconds * 1000);
      return result("Authenticate", { Detail: `${clientId},${id}` });
    },
    GetData: async (args, cb, headers) => {
      const req = args.getRequest ?? {};
      calls.push([
        "GetData",
        req.TemplateName,
        Number(req.PageNo),
        Number(req.ItemsPerPage),
        req.SearchClause ?? "",
      ]);
      await failure();
      if (!session(headers)) return refused("GetData", "System : Security - Invalid Session");
      let match;
      try {
        match = matcher(req.SearchClause);
      } catch (err) {
        return refused("GetData", err.message);
      }
      const all = [...table(req.TemplateName).values()].filter(match);
      const size = Math.max(1, Number(req.ItemsPerPage) || 100);
      const page = Math.max(1, Number(req.PageNo) || 1);
      const rows = all.slice((page - 1) * size, page * size);
      const cols = columns.get(req.TemplateName) ?? [];
      return result("GetData", { TotalCount: all.length, Detail: cols.length ? toCsv(cols, rows) : "" });
    },
    SaveData: async (args, cb, headers) => {
      const req = args.saveRequest ?? {};
      calls.push(["SaveData", req.TemplateName]);
      await failure();
      if (!session(headers)) return refused("SaveData", "System : Security - Invalid Session");
      const [head, ...lines] = parseCsv(String(req.CsvData ?? ""));
      if (!head) return refused("SaveData", "No data to import");
      const statuses = [];
      let saved = 0;
      lines.forEach((line, i) => {
        const row = Object.fromEntries(head.map((h, j) => [h, line[j] ?? ""]));
        const missing = (REQUIRED[req.TemplateName] ?? []).filter((c) => !row[c]);
        let error = missing.length ? `${missing.join(", ")} is required` : undefined;
        if (!error && req.TemplateName === "Sales order lines" && !table("Item types").has(row.ItemCode))
          error = `Item type ${row.ItemCode} does not exist`;
        if (error) {
          statuses.push({ Reference: row[head[0]], LineNo: i + 1, Status: "Failed", Error: error });
          return;
        }
        store(req.TemplateName, row);
        saved++;
      });
      return result("SaveData", {
        TotalCount: saved,
        Detail: `${saved} of ${lines.length} saved`,
        ...(statuses.length ? { Statuses: { IntegrationStatusResponse: statuses } } : {}),
      });
    },
    SubscribeEvent: async (args, cb, headers) => {
      calls.push(["SubscribeEvent", args.eventType, args.callbackUrl]);
      if (!session(headers)) return refused("SubscribeEvent", "System : Security - Invalid Session");
      if (!EVENT_TYPES.includes(args.eventType))
        return refused("SubscribeEvent", `Invalid event type: ${args.eventType ?? ""}`);
      const id = nextSubscription++;
      subscriptions.set(id, { eventType: args.eventType, url: args.callbackUrl, filter: args.filter ?? "" });
      return result("SubscribeEvent", { Detail: String(id) });
    },
    SubscribePostEvent: async (args, cb, headers) => {
      calls.push(["SubscribePostEvent", args.eventType, args.postUrl]);
      if (!session(headers)) return refused("SubscribePostEvent", "System : Security - Invalid Session");
      if (!EVENT_TYPES.includes(args.eventType))
        return refused("SubscribePostEvent", `Invalid event type: ${args.eventType ?? ""}`);
      const id = nextSubscription++;
      subscriptions.set(id, {
        eventType: args.eventType,
        url: args.postUrl,
        post: true,
        params: args.postParams ?? "",
        filter: args.filter ?? "",
      });
      return result("SubscribePostEvent", { Detail: String(id) });
    },
    UnsubscribeEvent: async (args, cb, headers) => {
      calls.push(["UnsubscribeEvent", Number(args.subscriptionId)]);
      if (!session(headers)) return refused("UnsubscribeEvent", "System : Security - Invalid Session");
      if (!subscriptions.delete(Number(args.subscriptionId)))
        return refused("UnsubscribeEvent", `Subscription ${args.subscriptionId} does not exist`);
      return result("UnsubscribeEvent", { Detail: "Unsubscribed" });
    },
  };

  const server = http.createServer();
  const soapServer = soap.listen(
    server,
    SERVICE_PATH,
    { IntegrationServiceV4: { IntegrationServiceV4Soap: operations } },
    WSDL,
  );
  // Each POST takes its switch here, before the SOAP layer; a plain 503 answers here, as a
  // load balancer's would.
  soapServer.authorizeConnection = (req, res) => {
    const operation = /\/([A-Za-z]+)"?$/.exec(String(req.headers.soapaction ?? ""))?.[1];
    const counts = req.method === "POST" && (!failOnly || operation === failOnly);
    current = counts ? (failures.shift() ?? undefined) : undefined;
    if (req.method === "POST") log.push({ at: Date.now(), operation, failed: current });
    expireThis = current === "expired";
    if (expireThis) current = undefined;
    if (current !== "http") return true;
    current = undefined;
    res.writeHead(503, { "content-type": "text/html" });
    res.end("<html><body>503 Service Unavailable</body></html>");
    return false;
  };
  await new Promise((r) => server.listen(0, "127.0.0.1", r));
  const base = `http://127.0.0.1:${server.address().port}`;

  const fill = (template, data, encode) =>
    template.replace(/\{([A-Za-z0-9_ ]+)\}/g, (_, k) => encode(data[k] === undefined ? "" : String(data[k])));

  return {
    base,
    /** The service URL, as Peoplevox gives it per client: .../resources/integrationservicev4.asmx */
    url: base + SERVICE_PATH,
    clientId,
    username,
    password,
    calls,
    log,
    deliveries,
    subscriptions,
    seed(template, rows) {
      for (const r of rows) store(template, r);
    },
    rows(template) {
      return [...table(template).values()];
    },
    /** The next n requests (of `operation`, when given) fail as `kind`, after `after` that answer. */
    failNext(n, kind = "fault", after = 0, operation = undefined) {
      failures = [...Array(after).fill(null), ...Array(n).fill(kind)];
      failOnly = operation;
    },
    expireSessions() {
      for (const id of sessions.keys()) sessions.set(id, 0);
    },
    /** Peoplevox raising an event: every subscription to it is called; resolves to their statuses. */
    async emit(eventType, data) {
      const out = [];
      for (const [id, s] of subscriptions) {
        if (s.eventType !== eventType) continue;
        let status;
        try {
          if (s.post) {
            const body = fill(s.params, data, encodeURIComponent);
            const res = await fetch(fill(s.url, data, encodeURIComponent), {
              method: "POST",
              headers: { "content-type": "application/x-www-form-urlencoded" },
              body,
            });
            status = res.status;
            await res.text();
          } else {
            const res = await fetch(fill(s.url, data, encodeURIComponent));
            status = res.status;
            await res.text();
          }
        } catch (err) {
          status = String(err.cause?.code ?? err.message);
        }
        deliveries.push({ subscription: id, eventType, data, status });
        out.push(status);
      }
      return out;
    },
    close: () =>
      new Promise((r) => {
        server.closeAllConnections?.();
        server.close(r);
      }),
  };
}

module.exports = { startPeoplevox, SERVICE_PATH };
