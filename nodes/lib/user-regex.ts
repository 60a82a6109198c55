import { RE2JS, RE2JSSyntaxException } from "re2js";

/**
 * Regular expressions typed by users (filter and route conditions, the map's replace
 * transform) or arriving in a message through a template. They run on RE2 (re2js, a pure
 * JavaScript port), whose matching time grows linearly with the text: `(a+)+$` cannot stall
 * the runtime the way JavaScript's backtracking RegExp does. The syntax is RE2's, which is
 * JavaScript's minus lookahead, lookbehind and backreferences; a pattern using them is
 * refused with the construct named. Patterns are read as Unicode, as with the `u` flag.
 */
export interface UserRegex {
  readonly source: string;
  /** Whether the pattern matches anywhere in the text (like RegExp.prototype.test). */
  test(text: string): boolean;
  /** Like String.prototype.replace: every match with the `g` flag, else the first; `$1`, `$&`, `$<name>` work. */
  replace(text: string, replacement: string): string;
}

/** Flags as JavaScript writes them; y, d and v have no equivalent and are refused. */
const FLAGS: Record<string, number> = {
  g: 0,
  i: RE2JS.CASE_INSENSITIVE,
  m: RE2JS.MULTILINE,
  s: RE2JS.DOTALL,
  u: 0,
};

export class UserRegexError extends Error {}

/** Compiles a user's pattern; throws a UserRegexError naming the pattern and what is wrong with it. */
export function compileUserRegex(pattern: string, flags = ""): UserRegex {
  let bits = 0;
  for (const flag of flags) {
    if (!(flag in FLAGS))
      throw new UserRegexError(
        `the regular expression flag "${flag}" is not supported (use g, i, m, s or u)`,
      );
    bits |= FLAGS[flag];
  }
  const global = flags.includes("g");
  let re: RE2JS;
  try {
    re = RE2JS.compile(translate(pattern), bits);
  } catch (err) {
    throw new UserRegexError(explain(pattern, err));
  }
  return {
    source: pattern,
    test: (text) => re.test(text),
    // test() runs on the DFA, several times quicker than a replace: most values without a match skip it.
    replace: (text, replacement) =>
      !re.test(text)
        ? text
        : global
          ? re.matcher(text).replaceAll(replacement)
          : re.matcher(text).replaceFirst(replacement),
  };
}

/** Patterns that change per message (from a template): compiled once per distinct pattern, the last 200 kept. */
const CACHE_SIZE = 200;
const cache = new Map<string, UserRegex>();

export function cachedUserRegex(pattern: string, flags = ""): UserRegex {
  const key = `${flags}/${pattern}`;
  const hit = cache.get(key);
  if (hit) {
    // Most recently used last: the first key is the one to drop.
    cache.delete(key);
    cache.set(key, hit);
    return hit;
  }
  const re = compileUserRegex(pattern, flags);
  if (cache.size >= CACHE_SIZE) cache.delete(cache.keys().next().value as string);
  cache.set(key, re);
  return re;
}

/** How many run-time patterns are cached (for tests). */
export function cachedPatternCount(): number {
  return cache.size;
}

/** JavaScript escapes RE2 writes differently: \uFFFF and \u{1F600} become \x{…}. */
function translate(pattern: string): string {
  if (!pattern.includes("\\u")) return pattern;
  let out = "";
  for (let i = 0; i < pattern.length; i++) {
    const ch = pattern[i];
    if (ch !== "\\") {
      out += ch;
      continue;
    }
    const rest = pattern.slice(i + 1);
    const four = /^u([0-9a-fA-F]{4})/.exec(rest);
    const braced = /^u\{([0-9a-fA-F]{1,6})\}/.exec(rest);
    if (four) {
      out += `\\x{${four[1]}}`;
      i += four[0].length;
    } else if (braced) {
      out += `\\x{${braced[1]}}`;
      i += braced[0].length;
    } else {
      // Any other escape (an escaped backslash included) is kept as it is.
      out += ch + (pattern[i + 1] ?? "");
      i++;
    }
  }
  return out;
}

const UNSUPPORTED =
  "the linear-time regex engine (RE2 syntax) has no lookahead, lookbehind or backreferences";

/** What is wrong, in words a user can act on: the construct RE2 does not support, or why the pattern is invalid. */
function explain(pattern: string, err: unknown): string {
  const shown = `the regular expression "${pattern}"`;
  if (!(err instanceof RE2JSSyntaxException)) return `${shown} cannot be used: ${(err as Error).message}`;
  const at = err.input ?? "";
  const error = err.error ?? err.message;
  if (/^\(\?[=!]/.test(at))
    return `${shown} uses a lookahead "${at.slice(0, 3)}", which is not supported: ${UNSUPPORTED}. Match the text itself, or use a second condition`;
  if (/^\(\?<[=!]/.test(at))
    return `${shown} uses a lookbehind "${at.slice(0, 4)}", which is not supported: ${UNSUPPORTED}. Match the text itself, or use a second condition`;
  if (/^\\[1-9]/.test(at) || /^\\k/.test(at))
    return `${shown} uses a backreference "${at.slice(0, 2)}", which is not supported: ${UNSUPPORTED}. Write out what the group matches instead`;
  if (/repeat count/.test(error))
    return `${shown} repeats more than 1000 times ("${at}"), which is not supported; use * or + instead`;
  // Say how JavaScript sees it too, when it is not valid there either.
  let js = "";
  try {
    new RegExp(pattern, "u");
  } catch (e) {
    js = ` (${(e as Error).message})`;
  }
  return `"${pattern}" is not a valid regular expression: ${error}${at ? ` at "${at}"` : ""}${js}`;
}
