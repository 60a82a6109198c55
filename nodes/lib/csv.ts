import { setKey } from "./keys";

/**
 * CSV as spreadsheets write it (RFC 4180): commas (or another delimiter), quoted fields with
 * doubled quotes, line breaks inside quotes, CRLF or LF. Lookup tables are imported and
 * exported this way.
 */
export function parseCsv(text: string, delimiter = ","): string[][] {
  const rows: string[][] = [];
  let row: string[] = [];
  let field = "";
  let quoted = false;
  let i = text.charCodeAt(0) === 0xfeff ? 1 : 0; // a byte order mark from Excel
  const endField = () => {
    row.push(field);
    field = "";
  };
  const endRow = () => {
    endField();
    // A blank line is not a row of one empty field.
    if (!(row.length === 1 && row[0] === "")) rows.push(row);
    row = [];
  };
  for (; i < text.length; i++) {
    const ch = text[i];
    if (quoted) {
      if (ch === '"') {
        if (text[i + 1] === '"') {
          field += '"';
          i++;
        } else quoted = false;
      } else field += ch;
    } else if (ch === '"' && field === "") quoted = true;
    else if (ch === delimiter) endField();
    else if (ch === "\n") endRow();
    else if (ch === "\r") {
      if (text[i + 1] === "\n") i++;
      endRow();
    } else field += ch;
  }
  if (quoted) throw new Error('the CSV ends inside a quoted field (a " is not closed)');
  if (field !== "" || row.length > 0) endRow();
  return rows;
}

export function toCsv(rows: unknown[][], delimiter = ","): string {
  return (
    rows
      .map((r) =>
        r.map((v) => quoteField(v === undefined || v === null ? "" : String(v), delimiter)).join(delimiter),
      )
      .join("\r\n") + "\r\n"
  );
}

function quoteField(value: string, delimiter: string): string {
  return value.includes('"') ||
    value.includes(delimiter) ||
    value.includes("\n") ||
    value.includes("\r") ||
    /^\s|\s$/.test(value)
    ? `"${value.replace(/"/g, '""')}"`
    : value;
}

/**
 * CSV with a header row as records: one object per row, keyed by the header's names, every
 * value text as the CSV has it (a row shorter than the header leaves the rest empty).
 */
export function csvRecords(text: string, delimiter = ","): Array<Record<string, string>> {
  const [header, ...rows] = parseCsv(text, delimiter);
  if (!header) return [];
  return rows.map((row) => {
    const record: Record<string, string> = {};
    header.forEach((name, i) => setKey(record, name, row[i] ?? ""));
    return record;
  });
}

/**
 * Records as CSV with a header row: the columns given, or every field the records have in the
 * order first seen. Objects and lists in a field are written as JSON.
 */
export function recordsCsv(records: unknown[], columns?: string[], delimiter = ","): string {
  const objects = records.map((r) => (r && typeof r === "object" ? (r as Record<string, unknown>) : {}));
  const names = columns ?? [...new Set(objects.flatMap((o) => Object.keys(o)))];
  const cell = (v: unknown) => (v && typeof v === "object" ? JSON.stringify(v) : v);
  return toCsv(
    [
      names,
      ...objects.map((o) =>
        names.map((n) => cell(Object.prototype.hasOwnProperty.call(o, n) ? o[n] : undefined)),
      ),
    ],
    delimiter,
  );
}
