// A fake of HubSpot's CRM v3 API as documented: Bearer private-app tokens, contacts paged by
// paging.next.after, batch create of at most 100 inputs (more is a 400), 201 with results.
const { startServer } = require("../support/http-server");

async function startHubSpot({ token = "pat-na1-test", contacts = [] } = {}) {
  const created = [];
  const server = await startServer((req) => {
    if (req.headers.authorization !== `Bearer ${token}`)
      return {
        status: 401,
        body: {
          status: "error",
          message: "Authentication credentials not found.",
          category: "INVALID_AUTHENTICATION",
        },
      };
    if (req.method === "GET" && req.path === "/crm/v3/objects/contacts") {
      const limit = Math.min(Number(req.query.limit ?? 10), 100);
      const after = Number(req.query.after ?? 0);
      const results = contacts.slice(after, after + limit);
      const next =
        after + limit < contacts.length
          ? { paging: { next: { after: String(after + limit), link: "..." } } }
          : {};
      return { body: { results, ...next } };
    }
    if (req.method === "POST" && req.path === "/crm/v3/objects/contacts/batch/create") {
      const { inputs } = JSON.parse(req.body || "{}");
      if (!Array.isArray(inputs) || inputs.length > 100)
        return {
          status: 400,
          body: { status: "error", message: "Batch size must be at most 100", category: "VALIDATION_ERROR" },
        };
      const bad = inputs.find((i) => !i.properties || !i.properties.email);
      if (bad)
        return {
          status: 400,
          body: {
            status: "error",
            message: "Property values were not valid: email is required",
            category: "VALIDATION_ERROR",
          },
        };
      const results = inputs.map((i) => ({ id: String(500 + created.length), properties: i.properties }));
      created.push(...results);
      return { status: 201, body: { status: "COMPLETE", results } };
    }
    return { status: 404, body: { status: "error", message: "not found" } };
  });
  return { ...server, created };
}

module.exports = { startHubSpot };
