// A real SMTP server on 127.0.0.1 (the smtp-server package, which nodemailer's authors
// maintain), for tests that check what a notify shape delivered: envelope, login and the
// raw message. `refuse` makes it refuse recipients (550) or logins (535).
const { SMTPServer } = require("smtp-server");

async function startSmtp({ user, password, refuse = [] } = {}) {
  const delivered = [];
  const logins = [];
  const server = new SMTPServer({
    secure: false,
    disabledCommands: user ? ["STARTTLS"] : ["STARTTLS", "AUTH"],
    allowInsecureAuth: true,
    authOptional: !user,
    logger: false,
    onAuth(auth, _session, cb) {
      logins.push({ username: auth.username, password: auth.password });
      if (auth.username === user && auth.password === password) return cb(null, { user: auth.username });
      const err = new Error("Authentication failed");
      err.responseCode = 535;
      return cb(err);
    },
    onRcptTo(address, _session, cb) {
      if (refuse.includes(address.address)) {
        const err = new Error(`${address.address}: no such mailbox`);
        err.responseCode = 550;
        return cb(err);
      }
      return cb();
    },
    onData(stream, session, cb) {
      let raw = "";
      stream.setEncoding("utf8");
      stream.on("data", (c) => (raw += c));
      stream.on("end", () => {
        delivered.push({
          from: session.envelope.mailFrom.address,
          to: session.envelope.rcptTo.map((r) => r.address),
          raw,
          // Long headers are folded over lines: unfolded here (RFC 5322 2.2.3).
          header: (name) =>
            new RegExp(`^${name}: (.*)$`, "mi").exec(
              raw.slice(0, raw.indexOf("\r\n\r\n")).replace(/\r\n(?=[ \t])/g, ""),
            )?.[1],
          body: decode(raw),
        });
        cb();
      });
    },
  });
  await new Promise((resolve) => server.listen(0, "127.0.0.1", resolve));
  return {
    port: server.server.address().port,
    delivered,
    logins,
    close: () => new Promise((resolve) => server.close(resolve)),
  };
}

/** The body as text: quoted-printable (which nodemailer uses for non-ASCII text) decoded. */
function decode(raw) {
  const body = raw.slice(raw.indexOf("\r\n\r\n") + 4);
  if (!/^Content-Transfer-Encoding: quoted-printable$/im.test(raw)) return body;
  const soft = body.replace(/=\r\n/g, "");
  const bytes = [];
  for (let i = 0; i < soft.length; i++) {
    if (soft[i] === "=" && /^[0-9A-F]{2}$/i.test(soft.slice(i + 1, i + 3))) {
      bytes.push(parseInt(soft.slice(i + 1, i + 3), 16));
      i += 2;
    } else bytes.push(...Buffer.from(soft[i], "utf8"));
  }
  return Buffer.from(bytes).toString("utf8");
}

module.exports = { startSmtp };
