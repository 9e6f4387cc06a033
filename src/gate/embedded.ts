import { waitUntil } from "cloudflare:workers";
import { decide } from "./decide.ts";
import type { GateLimiter } from "./gate-result.ts";

/**
 * The limiter inside the calling Worker itself, straight against Redis: for a Worker that ships
 * this project's code and has `UPSTASH_REDIS_REST_URL`, `UPSTASH_REDIS_REST_TOKEN` (and the other
 * settings) in its own environment. Decides exactly as the RPC entrypoint does, with the same
 * `GateResult`. Its calls to Redis (which the requests queued behind them wait for) and a lease's
 * give-back go on after the request is answered, or after its client hung up, in the `waitUntil` of
 * `ctx`: by default that of the request being served (`waitUntil` from "cloudflare:workers").
 *
 * @example
 * ```ts
 * app.use(
 *   rateLimit({
 *     limiter: (c) => embeddedLimiter(c.env, c.executionCtx),
 *     identifier: (c) => c.var.customer.id,
 *   }),
 * );
 * ```
 */
export function embeddedLimiter(
  env: object,
  ctx: Pick<ExecutionContext, "waitUntil"> = { waitUntil },
): GateLimiter {
  return { check: (request) => decide(env, request, (promise) => ctx.waitUntil(promise)) };
}
