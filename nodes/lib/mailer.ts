import nodemailer from "nodemailer";

/**
 * Email for the notify shape: an SMTP server (the `pw-smtp` config node's settings, its user
 * and password from Node-RED's credentials) and named groups of recipients. Sent with
 * nodemailer, which speaks SMTP with STARTTLS, implicit TLS and AUTH; a transport is made once
 * per deploy.
 */

export const SECURITY = ["auto", "starttls", "tls", "none"] as const;
export type Security = (typeof SECURITY)[number];

export interface SmtpSettings {
  host?: string;
  port?: number | string;
  /** auto: STARTTLS when the server offers it; starttls: required; tls: TLS from the start (465); none: plain text. */
  security?: string;
  /** Accept a certificate no known authority signed (a self-signed one on a private server). */
  tlsInsecure?: boolean;
  from?: string;
  groups?: Array<{ name?: string; to?: string }>;
}

export interface SmtpCredentials {
  user?: string;
  password?: string;
}

/** Connect, greeting and idle limits, so a server that does not answer fails the notification in time. */
export const SMTP_TIMEOUTS = { connectionTimeout: 10_000, greetingTimeout: 10_000, socketTimeout: 20_000 };

const ADDRESS = /^[^\s@<>,;"]+@[^\s@<>,;"]+\.[^\s@<>,;"]+$|^[^\s@<>,;"]+@localhost$/i;

export interface Mail {
  to: string[];
  subject: string;
  text: string;
  /** X-Priority and Importance headers for warnings and errors. */
  urgent?: boolean;
}

export interface Mailer {
  readonly from: string;
  /** Group names to their addresses. */
  readonly groups: ReadonlyMap<string, string[]>;
  /** The addresses of the named groups, each once; throws naming a group that does not exist. */
  recipients(groups: string[]): string[];
  /** Sends; resolves with the addresses accepted, rejects naming the server's answer. */
  send(mail: Mail): Promise<string[]>;
  close(): void;
}

/** One address per entry of a list written with commas, semicolons or new lines. */
export function parseAddresses(text: string | undefined, what: string): string[] {
  const list = (text ?? "")
    .split(/[,;\n\r]+/)
    .map((a) => a.trim())
    .filter(Boolean);
  for (const address of list)
    if (!ADDRESS.test(address))
      throw new Error(`${what}: "${address}" is not an email address (write name@example.com)`);
  return list;
}

/** Checks the settings once at deploy; throws with what to fix. */
export function compileMailer(s: SmtpSettings, creds: SmtpCredentials = {}): Mailer {
  const host = (s.host ?? "").trim();
  if (!host) throw new Error("the SMTP server's host name is missing");
  const security = (s.security || "auto") as Security;
  if (!SECURITY.includes(security))
    throw new Error(`security must be one of ${SECURITY.join(", ")}, not "${s.security}"`);
  const port = s.port === undefined || s.port === "" ? (security === "tls" ? 465 : 587) : Number(s.port);
  if (!Number.isInteger(port) || port < 1 || port > 65535)
    throw new Error(`the port must be a number from 1 to 65535, not "${s.port}"`);
  const from = (s.from ?? "").trim();
  const fromAddress = /<([^>]+)>\s*$/.exec(from)?.[1] ?? from;
  if (!from) throw new Error('the sender ("from") address is missing');
  if (!ADDRESS.test(fromAddress.trim()))
    throw new Error(
      `the sender "${from}" is not an email address (write alerts@example.com or Alerts <alerts@example.com>)`,
    );
  const groups = new Map<string, string[]>();
  for (const [i, g] of (s.groups ?? []).entries()) {
    const name = (g.name ?? "").trim();
    if (!name) throw new Error(`recipient group ${i + 1} has no name`);
    if (groups.has(name)) throw new Error(`two recipient groups are called "${name}"`);
    const to = parseAddresses(g.to, `recipient group "${name}"`);
    if (to.length === 0) throw new Error(`recipient group "${name}" has no addresses`);
    groups.set(name, to);
  }
  if ((creds.user ?? "") === "" && (creds.password ?? "") !== "")
    throw new Error("a password is set without a user name");
  const transport = nodemailer.createTransport({
    host,
    port,
    secure: security === "tls",
    requireTLS: security === "starttls",
    ignoreTLS: security === "none",
    auth: creds.user ? { user: creds.user, pass: creds.password ?? "" } : undefined,
    tls: s.tlsInsecure ? { rejectUnauthorized: false } : undefined,
    // A notification reads no files or URLs into the message.
    disableFileAccess: true,
    disableUrlAccess: true,
    ...SMTP_TIMEOUTS,
  });
  return {
    from,
    groups,
    recipients(names) {
      const out = new Set<string>();
      for (const name of names) {
        const list = groups.get(name);
        if (!list)
          throw new Error(
            `recipient group "${name}" is not in the SMTP server's settings (it has ${[...groups.keys()].map((n) => `"${n}"`).join(", ") || "none"})`,
          );
        for (const a of list) out.add(a);
      }
      return [...out];
    },
    async send(mail) {
      const headers: Record<string, string> = mail.urgent ? { "X-Priority": "1", Importance: "high" } : {};
      let info;
      try {
        info = await transport.sendMail({
          from,
          to: mail.to,
          subject: mail.subject,
          text: mail.text,
          headers,
        });
      } catch (err) {
        const e = err as Error & { code?: string; response?: string };
        throw new Error(
          `email through ${host}:${port} failed: ${e.response ?? e.message}${e.code ? ` (${e.code})` : ""}`,
          { cause: err },
        );
      }
      const address = (a: string | { address: string }) => (typeof a === "string" ? a : a.address);
      if (info.rejected.length > 0)
        throw new Error(
          `email through ${host}:${port}: the server refused ${info.rejected.map(address).join(", ")} (sent to ${info.accepted.length} of ${mail.to.length})`,
        );
      return info.accepted.map(address);
    },
    close: () => transport.close(),
  };
}
