import { XMLBuilder } from "fast-xml-parser";
import type { CallbackReply } from "../records";

const CONTENT_TYPES = {
  json: "application/json; charset=utf-8",
  xml: "application/xml; charset=utf-8",
  text: "text/plain; charset=utf-8",
};
const xml = new XMLBuilder({ ignoreAttributes: false, attributeNamePrefix: "@_", format: false });

/** The HTTP body and content type for a callback's answer. Text is sent as it is in every format. */
export function replyBody(reply: CallbackReply): { contentType: string; body: string | Buffer } {
  const contentType = reply.headers["content-type"] ?? CONTENT_TYPES[reply.format];
  const p = reply.payload;
  if (Buffer.isBuffer(p) || typeof p === "string") return { contentType, body: p };
  if (p === undefined || p === null) return { contentType, body: "" };
  switch (reply.format) {
    case "xml":
      return { contentType, body: typeof p === "object" ? xml.build(p) : String(p) };
    case "text":
      return { contentType, body: typeof p === "object" ? JSON.stringify(p) : String(p) };
    default:
      return { contentType, body: JSON.stringify(p) };
  }
}
