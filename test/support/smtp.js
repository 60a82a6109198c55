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
          header: (name) => new RegExp(`^${name}: (.*)$`, "mi").exec(raw)?.[1],
          body: raw.slice(raw.indexOf("\r\n\r\n") + 4),
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

module.exports = { startSmtp };
