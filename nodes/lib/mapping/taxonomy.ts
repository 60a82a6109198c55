import fs from "node:fs";
import path from "node:path";
import { samplePaths } from "./automap";

/**
 * The shared field taxonomy (nodes/connectors/taxonomy.json, docs/connectors/taxonomy.md):
 * standard tags such as `customer.email` or `line_item.sku` that a connector endpoint gives the
 * fields of its record sample (`tags: { "<path in the sample>": "<tag>" }`), so auto-map pairs
 * fields of two connectors by meaning, whatever each system calls them.
 */
export type FieldTags = Record<string, string>;

let known: Map<string, string> | undefined;

/** Every standard tag with its description. */
export function taxonomy(): Map<string, string> {
  if (!known) {
    // Beside the compiled engine in dist/, and beside the sources in nodes/.
    const file = path.join(__dirname, "..", "..", "connectors", "taxonomy.json");
    const data = JSON.parse(fs.readFileSync(file, "utf8")) as { tags: Record<string, string> };
    known = new Map(Object.entries(data.tags));
  }
  return known;
}

/** What is wrong with an endpoint's tags: an unknown tag, or a path its sample does not have. */
export function tagProblems(tags: FieldTags, sample: unknown, at: string): string[] {
  const problems: string[] = [];
  const tax = taxonomy();
  const paths = sample === undefined ? undefined : new Set(samplePaths(sample));
  for (const [field, tag] of Object.entries(tags)) {
    if (!tax.has(tag)) {
      const near = [...tax.keys()].filter((t) => t.split(".")[1] === tag.split(".")[1]);
      problems.push(
        `${at}["${field}"]: "${tag}" is not a standard tag${near.length ? ` (did you mean ${near.map((t) => `"${t}"`).join(" or ")}?)` : ""}; see docs/connectors/taxonomy.md`,
      );
    }
    if (paths && !paths.has(field))
      problems.push(`${at}["${field}"]: the endpoint's sample has no field "${field}" to tag`);
  }
  return problems;
}
