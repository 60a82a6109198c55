import { XMLParser, XMLValidator } from "fast-xml-parser";
import type { Readable } from "node:stream";
import { ownValue, setKey } from "../keys";

export class HttpError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
    this.name = "HttpError";
  }
}

/** "10mb", "512kb", "1gb" or a number of bytes. */
export function parseSize(size: string | number): number {
  if (typeof size === "number" && Number.isFinite(size) && size > 0) return Math.floor(size);
  const m = /^\s*(\d+(?:\.\d+)?)\s*(b|kb|mb|gb)?\s*$/i.exec(String(size));
  if (!m) throw new Error(`size "${size}" is not valid: use a number of bytes or e.g. "10mb", "512kb"`);
  const unit = { b: 1, kb: 1024, mb: 1024 ** 2, gb: 1024 ** 3 }[(m[2] || "b").toLowerCase() as "b"];
  return Math.floor(Number(m[1]) * unit);
}

/** Reads a request body into one Buffer, refusing it (413) past `limit` bytes. */
export function readBody(
  stream: Readable & { headers?: Record<string, unknown> },
  limit: number,
): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const declared = Number(stream.headers?.["content-length"]);
    if (Number.isFinite(declared) && declared > limit) {
      stream.resume();
      reject(new HttpError(413, `the body is ${declared} bytes, over this webhook's ${limit}-byte limit`));
      return;
    }
    const chunks: Buffer[] = [];
    let size = 0;
    let failed = false;
    stream.on("data", (chunk: Buffer) => {
      if (failed) return;
      size += chunk.length;
      if (size > limit) {
        failed = true;
        chunks.length = 0;
        reject(new HttpError(413, `the body is over this webhook's ${limit}-byte limit`));
        return;
      }
      chunks.push(chunk);
    });
    stream.on("end", () => failed || resolve(chunks.length === 1 ? chunks[0] : Buffer.concat(chunks, size)));
    stream.on(
      "error",
      (err) => failed || reject(new HttpError(400, `the body could not be read: ${err.message}`)),
    );
  });
}

export type BodyKind = "empty" | "json" | "form" | "xml" | "text" | "binary";

const xml = new XMLParser({
  ignoreAttributes: false,
  attributeNamePrefix: "@_",
  parseTagValue: false,
  trimValues: true,
});

export function bodyKind(contentType: string | undefined, raw: Buffer): BodyKind {
  if (raw.length === 0) return "empty";
  const type = (contentType || "").split(";")[0].trim().toLowerCase();
  if (type === "application/json" || type.endsWith("+json")) return "json";
  if (type === "application/x-www-form-urlencoded") return "form";
  if (type === "application/xml" || type === "text/xml" || type.endsWith("+xml")) return "xml";
  if (type.startsWith("text/") || type === "") return "text";
  return "binary";
}

/** Parses a body by its content type; an unparseable JSON or XML body is a 400. */
export function parseBody(raw: Buffer, contentType: string | undefined): { kind: BodyKind; value: unknown } {
  const kind = bodyKind(contentType, raw);
  switch (kind) {
    case "empty":
      return { kind, value: undefined };
    case "json":
      try {
        return { kind, value: JSON.parse(raw.toString("utf8")) };
      } catch (err) {
        throw new HttpError(400, `the body is not valid JSON: ${(err as Error).message}`);
      }
    case "form":
      return { kind, value: formToObject(raw.toString("utf8")) };
    case "xml": {
      const text = raw.toString("utf8");
      const valid = XMLValidator.validate(text);
      if (valid !== true) {
        throw new HttpError(400, `the body is not valid XML: ${valid.err.msg} (line ${valid.err.line})`);
      }
      return { kind, value: xml.parse(text) };
    }
    case "text":
      return { kind, value: raw.toString("utf8") };
    case "binary":
      return { kind, value: raw };
  }
}

/** Form fields as an object; a field given more than once becomes an array. */
export function formToObject(text: string): Record<string, string | string[]> {
  const out: Record<string, string | string[]> = {};
  // Field names are data: __proto__ or constructor is a field like any other, never a prototype.
  for (const [key, value] of new URLSearchParams(text)) {
    const prev = ownValue(out, key) as string | string[] | undefined;
    if (prev === undefined) setKey(out, key, value);
    else if (Array.isArray(prev)) prev.push(value);
    else setKey(out, key, [prev, value]);
  }
  return out;
}
