import type { Context } from "hono";
import { type Decision, limitedBody } from "../limiter/decision.ts";
import type { AppEnv } from "../services.ts";
import { readCheckRequest } from "./check-body.ts";
import { rateLimitHeaders } from "./rate-limit-headers.ts";

/** `POST /check`: 200 with the decision when allowed, 429 with it under `detail` when not. */
export async function checkHandler(c: Context<AppEnv>) {
  const input = await readCheckRequest(c);
  const nowMs = Date.now();
  const { limiter, metrics } = c.var.services;
  const decision = await limiter.check(input, nowMs).catch((error: unknown) => {
    if (metrics)
      c.executionCtx.waitUntil(metrics.record(input.tier.name, input.identifier, input.cost, undefined));
    throw error;
  });
  if (metrics)
    c.executionCtx.waitUntil(metrics.record(input.tier.name, input.identifier, input.cost, decision));
  const headers = rateLimitHeaders(decision, input.tier.name, nowMs);
  // A Response built at once, its headers in one record: the hot path of the Worker, where
  // setting them one by one (as c.json does) cost a measurable share of a cached denial.
  headers["content-type"] = "application/json";
  if (decision.allowed) return new Response(JSON.stringify(bodyOf(decision)), { status: 200, headers });
  return new Response(JSON.stringify(limitedBody(decision)), { status: 429, headers });
}

/** The decision as the HTTP body shows it: everything but the per-bucket detail, which is in the headers. */
function bodyOf({ policies: _inHeaders, cached: _forMetrics, ...body }: Decision) {
  return body;
}
