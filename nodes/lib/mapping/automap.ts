import type { MapRule } from "./mapping";
import { isUnsafeKey } from "../keys";

/**
 * Field pickers and auto-map for the map dialog: the paths of a sample record, and rules
 * proposed for source and target fields with the same or equivalent names.
 */

/**
 * Every path in a sample, arrays as [*] (their first elements stand for the rest), leaves and
 * objects alike. Keys named __proto__, constructor or prototype are left out: no rule may
 * write them, so auto-map must not propose them.
 */
export function samplePaths(sample: unknown, limit = 500): string[] {
  const out: string[] = [];
  const seen = new Set<string>();
  const add = (path: string) => {
    if (path && !seen.has(path) && out.length < limit) {
      seen.add(path);
      out.push(path);
    }
  };
  const walk = (value: unknown, path: string, depth: number) => {
    if (depth > 8 || out.length >= limit) return;
    if (Array.isArray(value)) {
      add(path);
      for (const element of value.slice(0, 5)) walk(element, `${path}[*]`, depth + 1);
      return;
    }
    if (value !== null && typeof value === "object") {
      if (path) add(path);
      for (const [key, child] of Object.entries(value as Record<string, unknown>)) {
        if (isUnsafeKey(key)) continue;
        const segment = /^[A-Za-z_$][\w$-]*$/.test(key) ? key : `['${key.replace(/'/g, "")}']`;
        walk(
          child,
          path ? (segment.startsWith("[") ? `${path}${segment}` : `${path}.${segment}`) : segment,
          depth + 1,
        );
      }
      return;
    }
    add(path);
  };
  walk(Array.isArray(sample) ? sample[0] : sample, "", 0);
  return out;
}

/** Names that mean the same field in the systems we sync (Shopify, HubSpot, TikTok Shop …). */
const SYNONYMS: string[][] = [
  ["email", "emailaddress", "mail", "buyeremail", "contactemail"],
  ["firstname", "givenname", "forename", "fname"],
  ["lastname", "surname", "familyname", "lname"],
  ["phone", "phonenumber", "telephone", "mobile", "mobilephone"],
  ["company", "companyname", "organisation", "organization"],
  ["address1", "address", "street", "streetaddress", "addressline1", "line1"],
  ["address2", "addressline2", "line2"],
  ["city", "town", "locality"],
  ["zip", "postcode", "postalcode", "zipcode"],
  ["country", "countrycode", "countryiso", "region"],
  ["province", "state", "county", "provincecode", "statecode"],
  ["amount", "total", "totalprice", "ordertotal", "grandtotal"],
  ["createdat", "createdate", "created", "createtime", "dateCreated".toLowerCase()],
  ["updatedat", "updatedate", "updated", "updatetime", "lastmodified", "lastmodifieddate"],
  ["sku", "sellersku", "productcode", "itemcode", "code"],
  ["quantity", "qty", "count"],
  ["price", "unitprice", "saleprice"],
  ["id", "externalid", "sourceid"],
  ["name", "title", "productname"],
];

const normal = (name: string) => name.toLowerCase().replace(/[^a-z0-9]/g, "");
const lastKey = (path: string) => {
  const parts = path
    .replace(/\[\*\]/g, "")
    .replace(/\['([^']*)'\]/g, ".$1")
    .split(".");
  return parts[parts.length - 1] ?? path;
};
const groupOf = new Map<string, number>();
SYNONYMS.forEach((names, i) => names.forEach((n) => groupOf.set(n, i)));

/** Standard field tags of each side's sample (see taxonomy.ts), by path: `{ "email": "customer.email" }`. */
export interface AutoMapTags {
  source?: Record<string, string>;
  target?: Record<string, string>;
}

/**
 * Proposes a rule for each target field (or, with no target sample, each top-level source
 * field): first a source field with the same standard tag (the shared taxonomy: connectors tag
 * their samples, so `buyer_email` pairs with `email` and `recipient_address.postal_code` with
 * `shipping_address.zip`), else one whose name matches, exactly or as a synonym. Fields the
 * existing rules already write are left alone unless `replace` is set, and a tagged source or
 * target field is never paired with a field of another tag by name.
 */
export function autoMap(
  sourceSample: unknown,
  targetSample: unknown,
  existing: MapRule[] = [],
  replace = false,
  tags: AutoMapTags = {},
): MapRule[] {
  const sources = samplePaths(sourceSample).filter((p) => !p.endsWith("]") || p.includes("[*]."));
  const leafSources = sources.filter(
    (p) => !sources.some((q) => q !== p && (q.startsWith(`${p}.`) || q.startsWith(`${p}[`))),
  );
  const targets =
    targetSample === undefined || targetSample === null
      ? leafSources.filter((p) => !p.includes(".") && !p.includes("["))
      : samplePaths(targetSample).filter(
          (p) =>
            !samplePaths(targetSample).some(
              (q) => q !== p && (q.startsWith(`${p}.`) || q.startsWith(`${p}[`)),
            ),
        );
  const taken = new Set(replace ? [] : existing.map((r) => (r.target ?? "").trim()));
  const proposed: MapRule[] = [];
  const sourceTag = tagsByPath(tags.source);
  const targetTag = tagsByPath(tags.target);
  for (const target of targets) {
    if (taken.has(target)) continue;
    const tag = targetTag(target);
    if (tag) {
      const byTag = leafSources
        .filter((source) => sourceTag(source) === tag && starsFit(source, target))
        .sort((a, b) => depth(a) - depth(b));
      if (byTag.length > 0) {
        proposed.push({ source: byTag[0], target, transforms: [] });
        continue;
      }
    }
    const want = normal(lastKey(target));
    const wantGroup = groupOf.get(want);
    // Exact names first, then synonyms; shallower source paths win ties.
    const candidates = leafSources
      .map((source) => {
        const have = normal(lastKey(source));
        const score = have === want ? 2 : wantGroup !== undefined && groupOf.get(have) === wantGroup ? 1 : 0;
        return { source, score };
      })
      .filter((c) => c.score > 0 && starsFit(c.source, target))
      // Both tagged, with different tags: they mean different things, whatever their names.
      .filter((c) => !tag || !sourceTag(c.source) || sourceTag(c.source) === tag)
      .sort((a, b) => b.score - a.score || depth(a.source) - depth(b.source));
    if (candidates.length > 0) proposed.push({ source: candidates[0].source, target, transforms: [] });
  }
  return replace ? proposed : [...existing, ...proposed];
}

const depth = (path: string) => path.split(/\.|\[/).length;
const stars = (path: string) => (path.match(/\[\*\]/g) ?? []).length;
/** A target through [*] needs a source with at least as many. */
const starsFit = (source: string, target: string) => stars(target) <= stars(source);

/** A path's tag; `a.b[0].c` and `a.b[*].c` are the same field. */
function tagsByPath(tags: Record<string, string> | undefined): (path: string) => string | undefined {
  if (!tags) return () => undefined;
  const norm = (p: string) => p.replace(/\[\d+\]/g, "[*]").replace(/^\[\*\]\.?/, "");
  const byPath = new Map(Object.entries(tags).map(([p, t]) => [norm(p), t]));
  return (path) => byPath.get(norm(path));
}
