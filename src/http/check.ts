import type { Context } from "hono";
import { resolveTier } from "../config/tiers.ts";
import type { AppEnv } from "../services.ts";
import { readCheckRequest, unprocessable } from "./check-body.ts";
import { apiError } from "./errors.ts";
import { rateLimitHeaders } from "./rate-limit-headers.ts";

/** `POST /check`: 200 with the decision when allowed, 429 with it under `detail` when not. */
export async function checkHandler(c: Context<AppEnv>) {
  const request = await readCheckRequest(c);
  const tier = resolveTier(request.tier ?? undefined);
  if (tier === undefined) throw apiError(400, `Invalid tier: ${request.tier}`);
  if (request.cost > tier.limit) {
    throw unprocessable([
      {
        loc: ["body", "cost"],
        msg: `Input should be less than or equal to ${tier.limit}`,
        type: "less_than_equal",
      },
    ]);
  }

  const nowMs = Date.now();
  const decision = await c.var.services.limiter.check(
    { identifier: request.identifier, tier, cost: request.cost },
    nowMs,
  );
  const headers = rateLimitHeaders(decision, tier, nowMs);
  if (decision.allowed) return c.json(decision, 200, headers);
  const { allowed, retry_after, reset_at, limit } = decision;
  return c.json({ detail: { allowed, retry_after, reset_at, limit } }, 429, headers);
}
