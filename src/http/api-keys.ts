import type { MiddlewareHandler } from "hono";
import type { AppEnv } from "../services.ts";
import type { Settings } from "../settings.ts";
import { apiError } from "./errors.ts";

const sha256 = async (text: string) => crypto.subtle.digest("SHA-256", new TextEncoder().encode(text));

const digestsOf = new WeakMap<Settings, Promise<ArrayBuffer[]>>();

/**
 * Requires `Authorization: Bearer <key>` with one of the `API_KEYS` when that secret is set;
 * otherwise 401 before anything else runs (no body read, no Redis call). Keys are compared as
 * SHA-256 digests with `timingSafeEqual`, all of them every time: equal lengths, no early exit,
 * so the time taken says nothing about a key. Several keys allow rotation.
 */
export const requireApiKey: MiddlewareHandler<AppEnv> = async function requireApiKey(c, next) {
  const { settings } = c.var.services;
  if (settings.API_KEYS.length === 0) return next();

  let digests = digestsOf.get(settings);
  if (digests === undefined) {
    digests = Promise.all(settings.API_KEYS.map(sha256));
    digestsOf.set(settings, digests);
  }
  const [, scheme, token] = /^(\S+) +(\S+)$/.exec(c.req.header("authorization") ?? "") ?? [];
  const presented = await sha256(scheme?.toLowerCase() === "bearer" && token !== undefined ? token : "");
  let matched = false;
  for (const digest of await digests) {
    matched = crypto.subtle.timingSafeEqual(presented, digest) || matched;
  }
  if (!matched) throw apiError(401, "Unauthorized", { "WWW-Authenticate": "Bearer" });
  return next();
};
