import { compileGetter, type Getter } from "../paths";
import { redactUrl } from "../redact";
import { csvRecords } from "../csv";
import type { HttpRequest, HttpResponse } from "./request";

/**
 * Every common way APIs page their lists. A pull reads page after page until the API says
 * there is no more: a short or empty page, no marker, no next link. A page that fails (after
 * its retries) is an error, never taken for the end; a next URL on another origin, a cursor
 * seen before and too many pages stop with an error too, since the records would be wrong.
 */
export type Pagination =
  | { type: "none" }
  | {
      type: "page";
      pageParam: string;
      sizeParam?: string;
      pageSize?: number;
      startPage?: number;
      /** A response header with the number of pages (WooCommerce's X-WP-TotalPages): the last page is known, no empty page is fetched. */
      totalPagesHeader?: string;
      /** A path in the answer to the number of records in all pages (Peoplevox's TotalCount): the last page is known. */
      totalPath?: string;
      /**
       * Where the page number goes: `query` (default), or `body`: a JSON body gets it (and the
       * size) as fields, a text body (a SOAP envelope) where its template says {{page.number}}.
       */
      in?: "query" | "body";
    }
  | { type: "offset"; offsetParam: string; limitParam: string; limit: number; hasMorePath?: string }
  | { type: "link" }
  | { type: "next_url"; path: string }
  | { type: "cursor"; path: string; param: string; in?: "query" | "body"; window?: SearchWindow }
  /**
   * Stripe's lists: the next page starts after the last record of this one
   * (`starting_after=<its id>`) while the answer's `has_more` is true.
   */
  | { type: "starting_after"; param?: string; idPath?: string; hasMorePath?: string }
  | { type: "graphql"; endCursorPath: string; hasNextPath: string; variable: string }
  | { type: "next_path"; path: string };

/**
 * A search that returns at most `max` results however it is paged (HubSpot's CRM search:
 * 10,000), sorted ascending by `filterProperty`: when the next page would pass the cap, the
 * search starts again with `filterProperty` GTE the last record's value (`sortPath`), added to
 * each of the body's `filterGroups`; records at that boundary already sent are skipped by id.
 */
export interface SearchWindow {
  max: number;
  sortPath: string;
  filterProperty: string;
  idPath?: string;
}

interface WindowState {
  base: HttpRequest;
  since?: string;
  skip: Set<string>;
  lastValue?: string;
  lastIds: Set<string>;
}

export interface PageOptions {
  /** Where the records are in a response body (empty: the body itself). */
  recordsPath?: string;
  /** `csv`: the value there is CSV text with a header row (Peoplevox's Detail), each row a record keyed by the header. */
  recordsFormat?: "csv";
  /** A guard against an API that never stops (default 1000). */
  maxPages?: number;
  /** Start where an earlier pull left off (a page's `resume`), not at the first page. */
  resume?: ResumePoint;
}

/**
 * Where a pull goes on after a page: the next page's marker, whatever the pagination needs
 * (a page number, an offset, a cursor, a next URL), and how many pages came before it. Small
 * plain JSON, kept with the run as a checkpoint so a Retry resumes there.
 */
export interface ResumePoint {
  /** Pages already handed over; the next page is number `pages + 1`. */
  pages: number;
  /** The next page's URL (link, next_url, next_path). */
  url?: string;
  /**
   * The next page's marker (page: the page number; offset: the offset; cursor, graphql: the
   * cursor; starting_after: the id of the last record handed over).
   */
  value?: string | number;
  /** A search window's lower bound (see SearchWindow). */
  since?: string;
}

export interface Page {
  number: number;
  records: unknown[];
  last: boolean;
  response: HttpResponse;
  /** Where to go on after this page; undefined on the last. */
  resume?: ResumePoint;
}

export class PaginationError extends Error {}

/** Stands for the page number in a rendered text body until each page's request is made (page paging in the body). */
export const PAGE_MARKER = "\u0000pw-page-number\u0000";

/** The request for page `n`, the number put where the pagination says (query or body). */
function atPage(first: HttpRequest, p: Extract<Pagination, { type: "page" }>, n: number): HttpRequest {
  if (p.in !== "body") return { ...first, page: n, query: { ...first.query, [p.pageParam]: n } };
  if (typeof first.body === "string")
    return { ...first, page: n, body: first.body.split(PAGE_MARKER).join(String(n)) };
  const body = { ...((first.body as Record<string, unknown>) ?? {}), [p.pageParam]: n };
  if (p.sizeParam && p.pageSize) body[p.sizeParam] = p.pageSize;
  return { ...first, page: n, body };
}

export function checkPagination(p: Pagination | undefined): Pagination {
  const pagination = p ?? { type: "none" };
  const need = (ok: unknown, what: string) => {
    if (!ok) throw new Error(`pagination "${pagination.type}" needs ${what}`);
  };
  switch (pagination.type) {
    case "none":
    case "link":
      break;
    case "starting_after":
      for (const k of ["param", "idPath", "hasMorePath"] as const)
        need(
          pagination[k] === undefined || (typeof pagination[k] === "string" && pagination[k] !== ""),
          `a non-empty ${k} when one is given (defaults: starting_after, id, has_more)`,
        );
      break;
    case "page":
      need(pagination.pageParam, "the name of the page parameter");
      if (pagination.pageSize !== undefined)
        need(Number.isInteger(pagination.pageSize) && pagination.pageSize > 0, "a page size of 1 or more");
      if (pagination.totalPath) need(pagination.pageSize, "a page size to tell the last page from totalPath");
      break;
    case "offset":
      need(pagination.offsetParam && pagination.limitParam, "the names of the offset and limit parameters");
      need(Number.isInteger(pagination.limit) && pagination.limit > 0, "a limit of 1 or more");
      break;
    case "next_url":
    case "next_path":
      need(pagination.path, "the path to the next page in the response");
      break;
    case "cursor":
      need(
        pagination.path && pagination.param,
        "the path to the cursor in the response and the parameter that sends it",
      );
      break;
    case "graphql":
      need(
        pagination.endCursorPath && pagination.hasNextPath && pagination.variable,
        "the paths to pageInfo.endCursor and hasNextPage and the cursor variable",
      );
      break;
    default:
      throw new Error(`unknown pagination "${(pagination as { type: string }).type}"`);
  }
  return pagination;
}

/**
 * Pages in order. Each page is handed over once the next has been asked for (or is known not
 * to exist), so `last` is true on the real last page even when the API only says so with an
 * empty page after it.
 */
export async function* paginate(
  first: HttpRequest,
  pagination: Pagination,
  send: (request: HttpRequest) => Promise<HttpResponse>,
  opts: PageOptions = {},
): AsyncGenerator<Page> {
  const p = checkPagination(pagination);
  const records = recordsGetter(opts.recordsPath, opts.recordsFormat);
  const maxPages = opts.maxPages ?? 1000;
  const origin = new URL(first.url).origin;
  const seen = new Set<string>();
  const win: WindowState | undefined =
    p.type === "cursor" && p.window ? { base: first, skip: new Set(), lastIds: new Set() } : undefined;
  if (win && opts.resume?.since) {
    win.since = opts.resume.since;
    win.base = withSince(first, (p as { window: SearchWindow }).window, opts.resume.since);
  }
  let request: HttpRequest | undefined = opts.resume
    ? resumeRequest(win?.base ?? first, p, opts.resume, origin, seen)
    : initial(first, p);
  let pending: Page | undefined;
  let number = opts.resume?.pages ?? 0;

  while (request) {
    if (number >= maxPages)
      throw new PaginationError(
        `stopped after ${maxPages} pages, the most allowed: raise "max pages" if the API really has more`,
      );
    number++;
    let response: HttpResponse;
    let list: unknown[];
    let next: HttpRequest | undefined;
    try {
      response = await send(request);
      list = records(response.data, number);
      const raw = list;
      if (win) list = trackWindow(win, (p as { window: SearchWindow }).window, raw);
      next = nextRequest(request, response, raw, p, origin, seen, first, win);
    } catch (err) {
      // The page before is whole, and not the last: hand it over, so a resume starts at this one.
      if (pending) {
        pending.resume = resumePointOf(request, p, pending.number, win);
        yield pending;
      }
      throw err;
    }
    const page: Page = { number, records: list, last: next === undefined, response };
    if (pending) {
      // An empty page after a full one: the full one was the last.
      if (list.length === 0 && next === undefined) {
        pending.last = true;
        yield pending;
        return;
      }
      // The page just fetched is where a pull that stops after `pending` goes on.
      pending.resume = resumePointOf(request, p, pending.number, win);
      yield pending;
    }
    pending = page;
    request = next;
  }
  if (pending) yield pending;
}

/** The marker of the request that fetches the next page, as a resume point after `pages` pages. */
export function resumePointOf(
  next: HttpRequest,
  p: Pagination,
  pages: number,
  win?: { since?: string },
): ResumePoint | undefined {
  switch (p.type) {
    case "page":
      return { pages, value: next.page ?? Number(next.query?.[p.pageParam]) };
    case "offset":
      return { pages, value: Number(next.query?.[p.offsetParam]) };
    case "cursor": {
      const at =
        p.in === "body"
          ? (next.body as Record<string, unknown> | undefined)?.[p.param]
          : next.query?.[p.param];
      // A window's first page has no cursor: it starts at its lower bound.
      if (win) return { pages, value: at === undefined ? "" : String(at), since: win.since };
      return { pages, value: String(at) };
    }
    case "starting_after":
      return { pages, value: String(next.query?.[afterParam(p)]) };
    case "graphql": {
      const vars = (next.body as { variables?: Record<string, unknown> } | undefined)?.variables;
      return { pages, value: String(vars?.[p.variable]) };
    }
    case "link":
    case "next_url":
    case "next_path":
      return { pages, url: next.url };
    default:
      return undefined;
  }
}

/** The request a resume point stands for; checked as a next page is (same origin, no repeat). */
function resumeRequest(
  first: HttpRequest,
  p: Pagination,
  at: ResumePoint,
  origin: string,
  seen: Set<string>,
): HttpRequest {
  const bad = (what: string) =>
    new PaginationError(`the checkpoint to resume from ${what}; start the pull again instead of retrying`);
  if (!Number.isInteger(at.pages) || at.pages < 0) throw bad("has no page count");
  switch (p.type) {
    case "page":
    case "offset": {
      const value = Number(at.value);
      if (!Number.isFinite(value)) throw bad("has no page or offset");
      if (p.type === "page" && p.in === "body") return atPage(first, p, value);
      const start = initial(first, p);
      const param = p.type === "page" ? p.pageParam : p.offsetParam;
      return {
        ...start,
        ...(p.type === "page" ? { page: value } : {}),
        query: { ...start.query, [param]: value },
      };
    }
    case "cursor":
      if (p.window && at.value === "") return first;
      if (typeof at.value !== "string" || at.value === "") throw bad("has no cursor");
      remember(seen, p.window ? `${at.since ?? ""}|${at.value}` : at.value);
      return withCursor(first, p, at.value);
    case "starting_after":
      if (typeof at.value !== "string" || at.value === "") throw bad("has no record id to start after");
      remember(seen, at.value);
      return { ...first, query: { ...first.query, [afterParam(p)]: at.value } };
    case "graphql": {
      if (typeof at.value !== "string" || at.value === "") throw bad("has no cursor");
      remember(seen, at.value);
      const body = (first.body ?? {}) as { query?: string; variables?: Record<string, unknown> };
      return {
        ...first,
        body: { ...body, variables: { ...(body.variables ?? {}), [p.variable]: at.value } },
      };
    }
    case "link":
    case "next_url":
    case "next_path":
      if (typeof at.url !== "string" || at.url === "") throw bad("has no next-page URL");
      return followUrl(first, at.url, origin, seen);
    default:
      throw bad(`is for a pull that does not page`);
  }
}

function recordsGetter(path: string | undefined, format?: "csv"): (data: unknown, page: number) => unknown[] {
  const get: Getter | undefined = path ? compileGetter(path) : undefined;
  return (data, page) => {
    const found = get ? get(data) : data;
    if (format === "csv") {
      if (found === undefined || found === null || found === "") return [];
      if (typeof found !== "string")
        throw new PaginationError(
          `page ${page}: "${path ?? "the body"}" holds ${typeof found}, not the CSV text of the records`,
        );
      try {
        return csvRecords(found);
      } catch (err) {
        throw new PaginationError(
          `page ${page}: the CSV at "${path ?? "the body"}" cannot be read: ${(err as Error).message}`,
        );
      }
    }
    if (Array.isArray(found)) return found;
    if (found === undefined || found === null) {
      if (get)
        throw new PaginationError(
          `page ${page}: the response has no "${path}" with the records; check the endpoint's records path`,
        );
      return [];
    }
    // A single record where a list was expected: one record.
    return [found];
  };
}

function initial(first: HttpRequest, p: Pagination): HttpRequest {
  switch (p.type) {
    case "page": {
      const start = p.startPage ?? 1;
      if (p.in === "body") return atPage(first, p, start);
      return {
        ...first,
        page: start,
        query: {
          ...first.query,
          [p.pageParam]: start,
          ...(p.sizeParam && p.pageSize ? { [p.sizeParam]: p.pageSize } : {}),
        },
      };
    }
    case "offset":
      return { ...first, query: { ...first.query, [p.offsetParam]: 0, [p.limitParam]: p.limit } };
    default:
      return first;
  }
}

function nextRequest(
  current: HttpRequest,
  response: HttpResponse,
  list: unknown[],
  p: Pagination,
  origin: string,
  seen: Set<string>,
  first: HttpRequest,
  win?: WindowState,
): HttpRequest | undefined {
  const data = response.data;
  switch (p.type) {
    case "none":
      return undefined;
    case "page": {
      if (list.length === 0 || (p.pageSize !== undefined && list.length < p.pageSize)) return undefined;
      const page = (current.page ?? Number(current.query?.[p.pageParam] ?? p.startPage ?? 1)) + 1;
      if (p.totalPagesHeader) {
        const total = Number(response.headers[p.totalPagesHeader.toLowerCase()]);
        if (Number.isFinite(total) && page > total) return undefined;
      }
      if (p.totalPath && p.pageSize) {
        const total = Number(compileGetter(p.totalPath)(data));
        const before = page - (p.startPage ?? 1);
        if (Number.isFinite(total) && before * p.pageSize >= total) return undefined;
      }
      return p.in === "body"
        ? atPage(first, p, page)
        : { ...current, page, query: { ...current.query, [p.pageParam]: page } };
    }
    case "offset": {
      if (p.hasMorePath) {
        // The API says whether there is more (NetSuite's hasMore): a short page is not the end.
        if (compileGetter(p.hasMorePath)(data) !== true || list.length === 0) return undefined;
      } else if (list.length === 0 || list.length < p.limit) return undefined;
      const offset = Number(current.query?.[p.offsetParam] ?? 0) + list.length;
      return { ...current, query: { ...current.query, [p.offsetParam]: offset } };
    }
    case "link": {
      const next = linkNext(response.headers.link);
      return next ? followUrl(current, new URL(next, current.url).toString(), origin, seen) : undefined;
    }
    case "next_url": {
      const next = compileGetter(p.path)(data);
      return typeof next === "string" && next !== ""
        ? followUrl(current, new URL(next, current.url).toString(), origin, seen)
        : undefined;
    }
    case "next_path": {
      const next = compileGetter(p.path)(data);
      return typeof next === "string" && next !== ""
        ? followUrl(current, new URL(next, `${origin}/`).toString(), origin, seen)
        : undefined;
    }
    case "cursor": {
      const cursor = compileGetter(p.path)(data);
      if (cursor === undefined || cursor === null || cursor === "" || cursor === false) return undefined;
      if (p.window && win) {
        const size = Number((win.base.body as { limit?: unknown } | undefined)?.limit ?? list.length);
        if (Number(cursor) + size > p.window.max) {
          // The next page would pass the search's cap: search again from the last value seen.
          if (win.lastValue === undefined || win.lastValue === "")
            throw new PaginationError(
              `the search stops at ${p.window.max} results and its records have no "${p.window.sortPath}" to search on from`,
            );
          if (win.lastValue === win.since)
            throw new PaginationError(
              `more than ${p.window.max} records have the same ${p.window.filterProperty} (${win.lastValue}): the search cannot page past them`,
            );
          win.since = win.lastValue;
          win.skip = new Set(win.lastIds);
          win.base = withSince(first, p.window, win.since);
          return win.base;
        }
        remember(seen, `${win.since ?? ""}|${String(cursor)}`);
        return withCursor(win.base, p, String(cursor));
      }
      remember(seen, String(cursor));
      return withCursor(first, p, String(cursor));
    }
    case "starting_after": {
      const hasMore = compileGetter(p.hasMorePath ?? "has_more")(data);
      if (hasMore !== true) return undefined;
      const last = list[list.length - 1];
      const id = last === undefined ? undefined : compileGetter(p.idPath ?? "id")(last);
      if (typeof id !== "string" && typeof id !== "number")
        throw new PaginationError(
          last === undefined
            ? `the API says it has more ("${p.hasMorePath ?? "has_more"}": true) but sent no records to start the next page after`
            : `the last record of the page has no "${p.idPath ?? "id"}" to start the next page after`,
        );
      remember(seen, String(id));
      return { ...first, query: { ...first.query, [afterParam(p)]: String(id) } };
    }
    case "graphql": {
      const hasNext = compileGetter(p.hasNextPath)(data);
      const cursor = compileGetter(p.endCursorPath)(data);
      if (hasNext !== true || cursor === undefined || cursor === null || cursor === "") return undefined;
      remember(seen, String(cursor));
      const body = (first.body ?? {}) as { query?: string; variables?: Record<string, unknown> };
      return { ...first, body: { ...body, variables: { ...(body.variables ?? {}), [p.variable]: cursor } } };
    }
    default:
      return undefined;
  }
}

function withCursor(
  base: HttpRequest,
  p: { param: string; in?: "query" | "body" },
  cursor: string,
): HttpRequest {
  if (p.in === "body")
    return { ...base, body: { ...((base.body as Record<string, unknown>) ?? {}), [p.param]: cursor } };
  return { ...base, query: { ...base.query, [p.param]: cursor } };
}

/** The first request with `filterProperty >= since` added to each filter group (HubSpot's search body). */
function withSince(first: HttpRequest, w: SearchWindow, since: string): HttpRequest {
  const body = { ...((first.body as Record<string, unknown>) ?? {}) };
  const ms = Date.parse(since);
  const filter = {
    propertyName: w.filterProperty,
    operator: "GTE",
    value: /^\d+$/.test(since) || Number.isNaN(ms) ? since : String(ms),
  };
  const groups = Array.isArray(body.filterGroups) && body.filterGroups.length ? body.filterGroups : [{}];
  body.filterGroups = (groups as Array<{ filters?: unknown[] }>).map((g) => ({
    ...g,
    filters: [...(Array.isArray(g.filters) ? g.filters : []), filter],
  }));
  return { ...first, body };
}

/** Drops records sent before a window restart; remembers the last sort value and its records' ids. */
function trackWindow(win: WindowState, w: SearchWindow, raw: unknown[]): unknown[] {
  const sortOf = compileGetter(w.sortPath);
  const idOf = compileGetter(w.idPath ?? "id");
  for (const r of raw) {
    const v = sortOf(r);
    const value = v === undefined || v === null ? "" : String(v);
    if (value !== win.lastValue) {
      win.lastValue = value;
      win.lastIds = new Set();
    }
    win.lastIds.add(String(idOf(r)));
  }
  return win.skip.size ? raw.filter((r) => !win.skip.has(String(idOf(r)))) : raw;
}

/** A next URL keeps the auth of the first only on the same origin; elsewhere it would leak. */
function followUrl(current: HttpRequest, next: string, origin: string, seen: Set<string>): HttpRequest {
  const url = new URL(next);
  if (url.origin !== origin)
    throw new PaginationError(
      `the next page is on another site (${url.origin}, not ${origin}); it is not followed, so credentials stay with the API`,
    );
  remember(seen, url.toString());
  // The URL carries the paging state itself: the first request's query would repeat it.
  return { ...current, url: url.toString(), query: undefined };
}

function afterParam(p: { param?: string }): string {
  return p.param ?? "starting_after";
}

function remember(seen: Set<string>, marker: string): void {
  if (seen.has(marker)) {
    // A next URL may carry an API key: errors go to the run log, which read-only users see.
    const shown = redactUrl(marker);
    throw new PaginationError(
      `the API gave the same next-page marker twice (${shown.length > 60 ? `${shown.slice(0, 57)}...` : shown}): stopping, as it would loop`,
    );
  }
  seen.add(marker);
}

/** The rel="next" target of a Link header. */
export function linkNext(header: string | undefined): string | undefined {
  if (!header) return undefined;
  for (const part of header.split(/,(?=\s*<)/)) {
    const m = /<([^>]*)>\s*;(.*)$/.exec(part.trim());
    if (m && /\brel\s*=\s*"?([^";]*\s)?next(\s[^";]*)?"?/i.test(m[2])) return m[1];
  }
  return undefined;
}
