import Mustache from "mustache";

/**
 * `{{ }}` templates, rendered against one view: payload, meta, flow, global, env, run.
 * Mustache HTML-escapes `{{x}}` by default, which is wrong everywhere we render, so every
 * template names the escaping fit for where its text goes. `Mustache.escape` is never
 * changed globally: other nodes in the same runtime may rely on it.
 */
export type Escaping = "none" | "url" | "xml";

const ESCAPES: Record<Escaping, (value: unknown) => string> = {
  none: (value) => toText(value),
  url: (value) => encodeURIComponent(toText(value)),
  // Values placed in XML (SOAP envelopes): text content and attribute values stay well-formed.
  xml: (value) => escapeXml(toText(value)),
};

/** Text made safe inside XML (and HTML) content and attribute values. */
export function escapeXml(text: string): string {
  return text.replace(
    /[&<>"']/g,
    (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&apos;" })[c] as string,
  );
}

/** A value as a template writes it: objects as JSON, null and undefined as nothing. */
export function toText(value: unknown): string {
  if (value === null || value === undefined) return "";
  if (typeof value === "object") return JSON.stringify(value);
  return String(value);
}

export interface TemplateView {
  payload?: unknown;
  meta?: Record<string, string>;
  run?: unknown;
  flow?: object;
  global?: object;
  env?: object;
}

export type Template = (view: TemplateView) => string;

/**
 * Parses the template once (throwing on bad syntax) and returns a renderer. `escaping` is one
 * of the named escapings, or a function of its own for a place they do not fit (notify cuts
 * each value at a length).
 */
export function compileTemplate(
  text: string,
  escaping: Escaping | ((value: unknown) => string) = "none",
): Template {
  try {
    Mustache.parse(text);
  } catch (err) {
    throw new Error(`template "${excerpt(text)}" is not valid: ${(err as Error).message}`, { cause: err });
  }
  if (!text.includes("{{")) return () => text;
  const config = { escape: typeof escaping === "function" ? escaping : ESCAPES[escaping] };
  return (view) => Mustache.render(text, view, undefined, config);
}

function excerpt(text: string): string {
  return text.length > 60 ? `${text.slice(0, 57)}...` : text;
}

/**
 * A view member backed by a lookup function (flow or global context, environment), so a
 * template reads only the keys it names rather than copying a whole context store.
 */
export function lookupObject(lookup: (key: string) => unknown): object {
  return new Proxy(Object.create(null), {
    has: (_t, key) => typeof key === "string" && lookup(key) !== undefined,
    get: (_t, key) => (typeof key === "string" ? lookup(key) : undefined),
  });
}
