// The read-only page of a demo stand-in: what the system holds now, as tables, so a user sees
// what a blueprint delivered. Values are escaped; nested objects are shown as compact JSON.
const esc = (v) =>
  String(v).replace(
    /[&<>"']/g,
    (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" })[c],
  );

const cell = (v) => {
  if (v == null) return "";
  if (typeof v === "object") return `<code>${esc(JSON.stringify(v))}</code>`;
  return esc(v);
};

/** { title, note?, tables: [{ name, rows: [{...}], columns?: [...] }] } → an HTML page. */
function renderRecordsPage({ title, note, tables }) {
  const sections = tables.map(({ name, rows, columns }) => {
    const cols = columns ?? [...new Set(rows.flatMap((r) => Object.keys(r)))].slice(0, 10);
    const head = cols.map((c) => `<th>${esc(c)}</th>`).join("");
    const body = rows
      .slice(-200)
      .reverse()
      .map((r) => `<tr>${cols.map((c) => `<td>${cell(r[c])}</td>`).join("")}</tr>`)
      .join("\n");
    return `<h2>${esc(name)} <small>(${rows.length})</small></h2>
${rows.length ? `<table><thead><tr>${head}</tr></thead><tbody>\n${body}\n</tbody></table>` : "<p>None yet.</p>"}`;
  });
  return `<!doctype html>
<html><head><meta charset="utf-8"><meta http-equiv="refresh" content="5">
<title>${esc(title)} (demo stand-in)</title>
<style>
body{font:14px/1.4 system-ui,sans-serif;margin:1.5em;color:#222}
table{border-collapse:collapse;margin-bottom:1.5em}td,th{border:1px solid #ccc;padding:3px 6px;text-align:left;vertical-align:top}
th{background:#f3f3f3}code{font-size:12px;word-break:break-all}small{color:#777;font-weight:normal}
.note{color:#555}
</style></head><body>
<h1>${esc(title)} <small>demo stand-in, read-only, newest first, refreshes every 5 s</small></h1>
${note ? `<p class="note">${esc(note)}</p>` : ""}
${sections.join("\n")}
</body></html>
`;
}

module.exports = { renderRecordsPage };
