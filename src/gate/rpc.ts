import { WorkerEntrypoint } from "cloudflare:workers";
import { decide, type GateDecision, type GateRequest } from "./decide.ts";

/**
 * The limiter for other Workers, over a service binding with RPC: no public hop, no API key.
 *
 * @example
 * ```toml
 * # the consumer's wrangler.toml
 * [[services]]
 * binding = "RATE_LIMITER"
 * service = "rate-limiter"
 * entrypoint = "RateLimiter"
 * ```
 * ```ts
 * const decision = await env.RATE_LIMITER.check({ identifier: "user-42", tier: "pro" });
 * ```
 */
export class RateLimiter extends WorkerEntrypoint<Env> {
  /**
   * Decides one request, exactly as `POST /check` does. Throws a `TypeError` whose message is the
   * HTTP `detail` for bad input, and `Error("Rate limiter unavailable")` when Redis cannot answer
   * and FAIL_MODE is closed.
   */
  async check(request: GateRequest): Promise<GateDecision> {
    return decide(this.env, request, (metric) => this.ctx.waitUntil(metric));
  }
}
