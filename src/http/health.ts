import type { Context } from "hono";
import type { AppEnv } from "../services.ts";

/**
 * `GET /health`: whether Redis answers a PING through the REST endpoint within the deadline.
 * When this isolate's circuit breaker is not closed, the answer says so (`circuit`); while it is
 * open the answer comes at once, without asking Redis.
 */
export async function healthHandler(c: Context<AppEnv>) {
  const { healthy, circuit } = await c.var.services.limiter.health();
  if (healthy) return c.json({ status: "ok", redis: "connected" }, 200);
  const body = { status: "degraded", redis: "disconnected" };
  return c.json(circuit === "closed" ? body : { ...body, circuit }, 503);
}
