import type { Context } from "hono";
import type { AppEnv } from "../services.ts";

/**
 * `GET /docs`, `/docs/init.js` and `/openapi.json`: static files the build wrote into static/
 * (scripts/copy-docs-assets.ts, scripts/compile-openapi.ts). Deployed, the static assets answer
 * before the Worker runs; this serves them wherever a request does reach the Worker (the tests, a
 * config that runs the Worker first).
 */
export function fromStaticAssets(c: Context<AppEnv>) {
  return c.env.ASSETS.fetch(c.req.raw);
}
