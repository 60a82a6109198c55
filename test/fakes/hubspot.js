// A fake of HubSpot's CRM v3 API as documented: Bearer private-app tokens, contacts paged by
// paging.next.after, batch create of at most 100 inputs (more is a 400) each with its
// properties and associations (the contract requires both), 201 with results.
// Multi-status, as HubSpot documents it for the object APIs' batch create endpoints: when
// every input carries a unique objectWriteTraceId, invalid inputs do not sink the batch; the
// valid ones are created and the answer is 207 with one error per invalid input, its
// context.objectWriteTraceId naming the input. Without trace ids an invalid input is a 400
// for the whole batch.
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
      // The contract (BatchInputSimplePublicObjectInputForCreate): each input needs
      // "properties" and "associations" (an empty list when there are none).
      const malformed = inputs.findIndex(
        (i) => !i || typeof i.properties !== "object" || !Array.isArray(i.associations),
      );
      if (malformed >= 0)
        return {
          status: 400,
          body: {
            status: "error",
            message: `Invalid input JSON: inputs[${malformed}]: Some required fields were not set: [${[
              typeof inputs[malformed]?.properties !== "object" ? "properties" : "",
              !Array.isArray(inputs[malformed]?.associations) ? "associations" : "",
            ]
              .filter(Boolean)
              .join(", ")}]`,
            category: "VALIDATION_ERROR",
          },
        };
      const invalid = (i) => !i.properties || !i.properties.email;
      const traces = inputs.map((i) => i.objectWriteTraceId);
      const multiStatus =
        traces.every((t) => typeof t === "string" && t !== "") && new Set(traces).size === traces.length;
      if (!multiStatus && inputs.some(invalid))
        return {
          status: 400,
          body: {
            status: "error",
            message: "Property values were not valid: email is required",
            category: "VALIDATION_ERROR",
          },
        };
      const now = new Date().toISOString();
      const results = [];
      const errors = [];
      for (const input of inputs) {
        if (invalid(input)) {
          errors.push({
            status: "error",
            category: "VALIDATION_ERROR",
            message: "Property values were not valid: email is required",
            context: { objectWriteTraceId: [input.objectWriteTraceId] },
          });
          continue;
        }
        const result = { id: String(500 + created.length), properties: input.properties };
        if (input.objectWriteTraceId) result.objectWriteTraceId = input.objectWriteTraceId;
        created.push(result);
        results.push(result);
      }
      const body = { status: "COMPLETE", results, startedAt: now, completedAt: now };
      if (errors.length) return { status: 207, body: { ...body, numErrors: errors.length, errors } };
      return { status: 201, body };
    }
    return { status: 404, body: { status: "error", message: "not found" } };
  });
  return { ...server, created };
}

module.exports = { startHubSpot };
