import type { Decision, PolicyState } from "../limiter/decision.ts";

/**
 * The rate-limit headers of a decision: the IETF pair (draft-ietf-httpapi-ratelimit-headers-10),
 * one item per bucket of the tier, and the older `RateLimit-Limit/-Remaining/-Reset` triple most
 * clients and proxies still read, for the most restrictive bucket; plus `Retry-After` on a denial.
 * A degraded or exempt decision knows no bucket, so it gets none. Never the identifier: headers
 * are logged by proxies.
 */
export function rateLimitHeaders(
  decision: Decision,
  tierName: string,
  nowMs: number,
): Record<string, string> {
  const { policies } = decision;
  if (decision.tokens_remaining === null || decision.reset_at === null || policies === undefined) return {};
  const secondsUntil = (resetAt: number) => Math.max(0, Math.ceil(resetAt - nowMs / 1000));
  // One bucket keeps the tier's own name; several are told apart by their windows.
  const nameOf = (policy: PolicyState) =>
    policies.length === 1 ? tierName : `${tierName}-${policy.window}s`;
  const headers: Record<string, string> = {
    "RateLimit-Policy": policies.map((p) => `"${nameOf(p)}";q=${p.limit};w=${p.window}`).join(", "),
    RateLimit: policies.map((p) => `"${nameOf(p)}";r=${p.remaining};t=${secondsUntil(p.resetAt)}`).join(", "),
    "RateLimit-Limit": String(decision.limit),
    "RateLimit-Remaining": String(decision.tokens_remaining),
    "RateLimit-Reset": String(secondsUntil(decision.reset_at)),
  };
  if (decision.retry_after !== null) headers["Retry-After"] = String(decision.retry_after);
  return headers;
}
