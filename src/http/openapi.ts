import type { Context } from "hono";
import { OPENAPI_JSON } from "./openapi.generated.ts";

/** `GET /openapi.json`: the document scripts/compile-openapi.ts rendered at build time. */
export function openApiHandler(c: Context) {
  return c.body(OPENAPI_JSON, 200, { "Content-Type": "application/json" });
}
