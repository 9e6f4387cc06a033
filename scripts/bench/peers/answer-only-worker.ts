/**
 * A reference, not a limiter (`npm run bench -- --answer-only`): it reads the body as the others do, never
 * asks Redis, and denies every request with the answer SPEC.md asks of a denial, the six rate-limit
 * headers and the `detail` body, its figures worked out from the clock. No limiter that answers as the SPEC
 * says can do less, so on this machine, through Miniflare, it is the ceiling for both workloads: what the
 * harness, the body and the headers cost before any limiting.
 */
import { BENCH_TIERS } from "../workloads.ts";

const tiers = new Map(BENCH_TIERS.map((tier) => [tier.name, tier]));

export default {
  async fetch(request: Request): Promise<Response> {
    const { tier: tierName } = (await request.json()) as { identifier: string; tier: string };
    const tier = tiers.get(tierName);
    if (tier === undefined) return new Response("unknown tier", { status: 400 });
    const now = Date.now() / 1000;
    const refillSeconds = tier.window / tier.limit;
    const retryAfter = Math.max(1, Math.ceil(refillSeconds));
    const headers = {
      "RateLimit-Policy": `"${tier.name}";q=${tier.limit};w=${tier.window}`,
      RateLimit: `"${tier.name}";r=0;t=${tier.window}`,
      "RateLimit-Limit": String(tier.limit),
      "RateLimit-Remaining": "0",
      "RateLimit-Reset": String(tier.window),
      "Retry-After": String(retryAfter),
      "content-type": "application/json",
    };
    const detail = {
      allowed: false,
      retry_after: retryAfter,
      reset_at: now + tier.window,
      limit: tier.limit,
    };
    return new Response(JSON.stringify({ detail }), { status: 429, headers });
  },
};
