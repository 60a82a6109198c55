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
