/**
 * Shapes that read fields (map, and filter/route conditions on a field) need records: objects,
 * one or a list of them. Text or a number where a record should be is not quietly read as a
 * record without fields: the message fails saying what was found, where, and how to fix it.
 */

/** What a value is when it cannot be a record ("text (\"abc\")"), or undefined when it can. */
export function notARecord(value: unknown, nullIsRecord = false): string | undefined {
  switch (typeof value) {
    case "object":
      return value === null && !nullIsRecord ? "null" : undefined;
    case "string":
      return `text (${preview(value)})`;
    case "number":
    case "bigint":
      return `a number (${String(value)})`;
    case "boolean":
      return `true/false (${String(value)})`;
    default:
      return typeof value === "undefined" ? "nothing" : `a ${typeof value}`;
  }
}

export class NotRecordsError extends Error {}

/** The payload as a whole is not records. */
export function payloadNotRecords(what: string, value: unknown): NotRecordsError {
  return new NotRecordsError(
    `msg.payload is ${what}, not records (an object, or a list of objects): ${fix(value)}`,
  );
}

/** One element of a list is not a record. */
export function elementNotRecord(what: string, value: unknown, index: number): NotRecordsError {
  return new NotRecordsError(
    `record ${index}: msg.payload[${index}] is ${what}, not an object with fields: ${fix(value)}`,
  );
}

function fix(value: unknown): string {
  if (typeof value === "string" && /^\s*[[{]/.test(value))
    return "it looks like JSON text; parse it first (a json node, or a connection that reads JSON) before this shape";
  return "check what the shape before this one sends, or split out the list of records first";
}

function preview(text: string): string {
  const shown = JSON.stringify(text);
  return shown.length > 60 ? `${shown.slice(0, 57)}..."` : shown;
}
