import { WorkerEntrypoint } from "cloudflare:workers";
import { decide } from "./decide.ts";
import type { GateRequest, GateResult } from "./gate-result.ts";

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
 * const result = await env.RATE_LIMITER.check({ identifier: "user-42", tier: "pro" });
 * if (result.ok && !result.decision.allowed) return new Response("Slow down", { status: 429 });
 * ```
 */
export class RateLimiter extends WorkerEntrypoint<Env> {
  /**
   * Decides one request, exactly as `POST /check` does. Never throws: bad input, an unknown tier,
   * Redis unavailable under FAIL_MODE=closed and the limiter's own failures come back as
   * `{ ok: false, error: { kind, detail } }` (see `GateResult`).
   */
  async check(request: GateRequest): Promise<GateResult> {
    return decide(this.env, request, (metric) => this.ctx.waitUntil(metric));
  }
}
