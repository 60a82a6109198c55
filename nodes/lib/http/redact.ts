/**
 * URLs as the run log and errors show them: user info, secret-looking query parameters and
 * any known secret value replaced by ***. An API key in a URL must not outlive the request.
 */
const SECRET_PARAM =
  /^(api[_-]?key|apikey|key|access[_-]?token|token|auth|authorization|sig|sign|signature|secret|client[_-]?secret|password|pass|session|code)$/i;

/** Known secret values (4 characters or more) replaced by ***, plain and URL-encoded. */
export function maskSecrets(text: string, secrets: string[]): string {
  let out = text;
  for (const s of secrets) {
    if (!s || s.length < 4) continue;
    out = out.split(s).join("***").split(encodeURIComponent(s)).join("***");
  }
  return out;
}

export function redactUrl(url: string, secrets: string[] = []): string {
  let out = url;
  try {
    const u = new URL(url);
    if (u.username || u.password) {
      u.username = u.username ? "***" : "";
      u.password = u.password ? "***" : "";
    }
    for (const key of [...u.searchParams.keys()]) if (SECRET_PARAM.test(key)) u.searchParams.set(key, "***");
    out = u.toString().replace(/%2A%2A%2A/g, "***");
  } catch {
    // Not a URL: still take out known secrets below.
  }
  return maskSecrets(out, secrets);
}
