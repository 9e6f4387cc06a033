import type { BucketFigures } from "../limiter/decision.ts";
import type { CheckFigures } from "./answers.ts";

/**
 * The rate-limit headers of an answer: the IETF pair (draft-ietf-httpapi-ratelimit-headers-10),
 * one item per bucket of the tier, and the older `RateLimit-Limit/-Remaining/-Reset` triple most
 * clients and proxies still read, for the most restrictive bucket (the one the answer's figures
 * report); plus `Retry-After` on a denial. An answer that read no bucket (degraded, exempt) gets
 * none. Never the identifier: headers are logged by proxies.
 */
export function rateLimitHeaders(
  figures: CheckFigures,
  buckets: readonly BucketFigures[] | undefined,
  tierName: string,
  nowMs: number,
): Record<string, string> {
  const { tokens_remaining: remaining, reset_at: resetAt } = figures;
  if (remaining === null || resetAt === null || buckets === undefined) return {};
  const secondsUntil = (at: number) => Math.max(0, Math.ceil(at - nowMs / 1000));
  // One bucket keeps the tier's own name; several are told apart by their windows.
  const nameOf = (bucket: BucketFigures) =>
    buckets.length === 1 ? tierName : `${tierName}-${bucket.window}s`;
  const headers: Record<string, string> = {
    "RateLimit-Policy": buckets.map((b) => `"${nameOf(b)}";q=${b.limit};w=${b.window}`).join(", "),
    RateLimit: buckets.map((b) => `"${nameOf(b)}";r=${b.remaining};t=${secondsUntil(b.resetAt)}`).join(", "),
    "RateLimit-Limit": String(figures.limit),
    "RateLimit-Remaining": String(remaining),
    "RateLimit-Reset": String(secondsUntil(resetAt)),
  };
  if (figures.retry_after !== null) headers["Retry-After"] = String(figures.retry_after);
  return headers;
}
