// GitHub's REST list endpoints as documented (docs.github.com/rest/using-the-rest-api/
// using-pagination-in-the-rest-api): `per_page` (default 30, at most 100) and `page`
// (default 1); the answer is the array of records, and a `Link` header with the URLs of the
// `prev`, `next`, `first` and `last` pages that exist, each keeping the request's other query
// parameters. Without a token (`Authorization: Bearer <token>` or `token <token>`) an
// endpoint of the authenticated user answers 401 { message: "Requires authentication" }.
const { startServer } = require("../support/http-server");

async function startGitHub({ token = "ghp_test0123456789", prefix = "/api/v3", lists = {} } = {}) {
  const api = await startServer((req) => {
    const h = req.headers.authorization ?? "";
    if (h !== `Bearer ${token}` && h !== `token ${token}`)
      return {
        status: 401,
        body: { message: "Requires authentication", documentation_url: "https://docs.github.com/rest" },
      };
    const records = req.path.startsWith(prefix) ? lists[req.path.slice(prefix.length)] : undefined;
    if (req.method !== "GET" || !records)
      return {
        status: 404,
        body: { message: "Not Found", documentation_url: "https://docs.github.com/rest" },
      };
    const perPage = Math.min(Math.max(Number(req.query.per_page ?? 30) || 30, 1), 100);
    const page = Math.max(Number(req.query.page ?? 1) || 1, 1);
    const last = Math.max(Math.ceil(records.length / perPage), 1);
    const url = (n) => {
      const q = new URLSearchParams({ ...req.query, per_page: String(perPage), page: String(n) });
      return `<${api.base}${req.path}?${q}>`;
    };
    const links = [];
    if (page > 1) links.push(`${url(page - 1)}; rel="prev"`);
    if (page < last) links.push(`${url(page + 1)}; rel="next"`, `${url(last)}; rel="last"`);
    if (page > 1) links.push(`${url(1)}; rel="first"`);
    return {
      headers: links.length ? { link: links.join(", ") } : {},
      body: records.slice((page - 1) * perPage, page * perPage),
    };
  });
  return { ...api, token, prefix };
}

module.exports = { startGitHub };
