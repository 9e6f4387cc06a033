import type { NamedTier } from "../config/tiers.ts";
import type { Decision } from "../limiter/decision.ts";

/**
 * The rate-limit headers of a decision: the IETF pair (draft-ietf-httpapi-ratelimit-headers-10)
 * and the older `RateLimit-Limit/-Remaining/-Reset` triple most clients and proxies still read,
 * plus `Retry-After` on a denial. A degraded decision knows no bucket, so it gets none.
 * Never the identifier: headers are logged by proxies.
 */
export function rateLimitHeaders(decision: Decision, tier: NamedTier, nowMs: number): Record<string, string> {
  if (decision.tokens_remaining === null || decision.reset_at === null) return {};
  const secondsUntilFull = Math.max(0, Math.ceil(decision.reset_at - nowMs / 1000));
  const headers: Record<string, string> = {
    "RateLimit-Policy": `"${tier.name}";q=${tier.limit};w=${tier.window}`,
    RateLimit: `"${tier.name}";r=${decision.tokens_remaining};t=${secondsUntilFull}`,
    "RateLimit-Limit": String(tier.limit),
    "RateLimit-Remaining": String(decision.tokens_remaining),
    "RateLimit-Reset": String(secondsUntilFull),
  };
  if (decision.retry_after !== null) headers["Retry-After"] = String(decision.retry_after);
  return headers;
}
