import type { Context } from "hono";
import { limitedBody } from "../limiter/decision.ts";
import type { AppEnv } from "../services.ts";
import { readCheckRequest } from "./check-body.ts";
import { rateLimitHeaders } from "./rate-limit-headers.ts";

/** `POST /check`: 200 with the decision when allowed, 429 with it under `detail` when not. */
export async function checkHandler(c: Context<AppEnv>) {
  const input = await readCheckRequest(c);
  const nowMs = Date.now();
  const decision = await c.var.services.limiter.check(input, nowMs);
  const headers = rateLimitHeaders(decision, input.tier, nowMs);
  if (decision.allowed) return c.json(decision, 200, headers);
  return c.json(limitedBody(decision), 429, headers);
}
