import type { MiddlewareHandler } from "hono";
import type { AppEnv } from "../services.ts";
import { apiError } from "./errors.ts";

const sha256 = async (text: string) => crypto.subtle.digest("SHA-256", new TextEncoder().encode(text));

/** Configured keys as SHA-256 digests, made once per environment (services.ts). */
export type KeyRing = Promise<ArrayBuffer[]>;

/** The ring of `keys`, or undefined when there are none. */
export const keyRing = (keys: readonly string[]): KeyRing | undefined =>
  keys.length === 0 ? undefined : Promise.all(keys.map(sha256));

/**
 * The index of the key in the ring that `Authorization: Bearer <key>` presents, or -1. Keys are
 * compared as SHA-256 digests with `timingSafeEqual`, all of them every time: equal lengths, no
 * early exit, so the time taken says nothing about a key.
 */
async function presentedKey(authorization: string | undefined, ring: KeyRing): Promise<number> {
  const [, scheme, token] = /^(\S+) +(\S+)$/.exec(authorization ?? "") ?? [];
  const presented = await sha256(scheme?.toLowerCase() === "bearer" && token !== undefined ? token : "");
  let index = -1;
  for (const [i, digest] of (await ring).entries()) {
    if (crypto.subtle.timingSafeEqual(presented, digest) && index === -1) index = i;
  }
  return index;
}

const unauthorized = () => apiError(401, "Unauthorized", { "WWW-Authenticate": "Bearer" });

/**
 * Requires `Authorization: Bearer <key>` with one of the `API_KEYS` (the route asks only when that
 * secret is set); otherwise throws the 401, before anything else runs (no body read, no Redis
 * call). Several keys allow rotation.
 */
export async function requireApiKey(request: Request, ring: KeyRing): Promise<void> {
  const presented = await presentedKey(request.headers.get("authorization") ?? undefined, ring);
  if (presented === -1) throw unauthorized();
}

/**
 * The admin API's gate: with no `ADMIN_API_KEYS` the admin API does not exist (404); otherwise
 * one of those keys (never an `API_KEYS` key) is required, and its index is kept for the audit log
 * as `c.var.adminKey`.
 */
export const requireAdminKey: MiddlewareHandler<AppEnv> = async function requireAdminKey(c, next) {
  const ring = c.var.services.adminKeys;
  if (ring === undefined) throw apiError(404, "Not Found");
  const index = await presentedKey(c.req.header("authorization"), ring);
  if (index === -1) throw unauthorized();
  c.set("adminKey", index);
  return next();
};
