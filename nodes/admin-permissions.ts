import type { NodeAPI } from "node-red";
import type { Request, Response } from "express";

/**
 * Node-RED's own permission check for `permission`, run inside a route that needs it only in
 * some cases (a request that would run code or use saved secrets with settings of its own).
 * False when the user lacks it: Node-RED has answered 401 then, as it does for whole routes.
 */
export function checkPermission(
  RED: NodeAPI,
  permission: string,
  req: Request,
  res: Response,
): Promise<boolean> {
  return new Promise((resolve) => {
    res.once("finish", () => resolve(false));
    RED.auth.needsPermission(permission)(req, res, () => resolve(true));
  });
}

/** The permission to deploy flows: what running user code or aiming saved secrets elsewhere needs. */
export const DEPLOY = "flows.write";
