import type { Context } from "hono";
import type { AppEnv } from "../services.ts";

/** `GET /health`: whether Redis answers a PING through the REST endpoint within the deadline. */
export async function healthHandler(c: Context<AppEnv>) {
  return (await c.var.services.limiter.isHealthy())
    ? c.json({ status: "ok", redis: "connected" }, 200)
    : c.json({ status: "degraded", redis: "disconnected" }, 503);
}
