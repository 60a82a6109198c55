import type { NodeAPI } from "node-red";
import type { NextFunction, Request, Response } from "express";

const installed = new WeakSet<object>();

/**
 * The admin API parses JSON bodies before any route runs, so a malformed body never reaches
 * our handlers; without this, Express answers with an HTML page and logs a stack trace. Every route of this
 * package lives under /pw, and this answers such failures there in JSON.
 */
export function installAdminErrors(RED: NodeAPI): void {
  // Nodes get the admin API's own sub-app; the body parsers sit in the app it is mounted in,
  // and Express never passes an error down into a mounted sub-app, so the handler goes there.
  const parent = (RED.httpAdmin as unknown as { parent?: unknown }).parent;
  const app = (typeof parent === "function" ? parent : RED.httpAdmin) as typeof RED.httpAdmin;
  if (installed.has(app)) return;
  installed.add(app);
  app.use(
    "/pw",
    (err: Error & { status?: number; type?: string }, _req: Request, res: Response, next: NextFunction) => {
      if (res.headersSent) return next(err);
      const status = err.status && err.status >= 400 && err.status < 500 ? err.status : 500;
      res.status(status).json({
        error: status === 500 ? "internal_error" : "bad_request",
        message:
          err.type === "entity.parse.failed"
            ? `The request body is not valid JSON: ${err.message}`
            : err.message,
      });
    },
  );
}
