import type { BucketState } from "./script-reply.ts";

/** The message of the error the limiter throws when Redis cannot answer (and the 503's `detail`). */
export const UNAVAILABLE_DETAIL = "Rate limiter unavailable";

/** One bucket's state after a request: what the rate-limit headers report, per bucket. */
export interface PolicyState {
  limit: number;
  /** Seconds. */
  window: number;
  remaining: number;
  /** Unix time in seconds, millisecond precision, when this bucket is full again. */
  resetAt: number;
}

/**
 * What the limiter answers, in the wire shape of the HTTP API and the RPC entrypoint, for the
 * most restrictive of the tier's buckets. `tokens_remaining` and `reset_at` are null only on a
 * degraded (fail-open) answer and for an exempt identifier.
 */
export interface Decision {
  allowed: boolean;
  tokens_remaining: number | null;
  /** Unix time in seconds, millisecond precision, when the bucket is full again. */
  reset_at: number | null;
  limit: number;
  /** Whole seconds (at least 1) until `cost` tokens are there; null when allowed. */
  retry_after: number | null;
  /** Present, and true, only when Redis could not answer and FAIL_MODE is open. */
  degraded?: true;
  /** Present, and true, when an override exempts this identifier from its tier's limits. */
  exempt?: true;
  /** Present, and true, on a shadow tier: let through whatever the bucket says (see `would_allow`). */
  shadow?: true;
  /** On a shadow tier, what the limiter would have answered, and how long it would have asked to wait. */
  would_allow?: boolean;
  would_retry_after?: number | null;
  /** Every bucket of the tier, for the rate-limit headers. Not part of the HTTP body. */
  policies?: PolicyState[];
  /** Present, and true, for a certain denial answered without Redis. Not part of the HTTP body. */
  cached?: true;
  /** Present, and true, for an admission granted from this isolate's lease. Not part of the HTTP body. */
  leased?: true;
}

/**
 * The decision for one request from its buckets just after it. Used for Redis's answers and for
 * the isolate's own (a certain denial, a leased admission) alike, so all report the same way. It
 * reports the most restrictive bucket: on a denial the one that keeps the caller waiting longest,
 * otherwise the one with the fewest tokens left (the soonest-full on a tie).
 */
export function decisionFrom(allowed: boolean, state: BucketState, cost: number, nowMs: number): Decision {
  const buckets = state.limits.map(({ limit, windowMs }, i) => {
    const tokens = state.tokens[i] as number;
    const msPerToken = windowMs / limit;
    return {
      limit,
      window: windowMs / 1000,
      remaining: Math.floor(tokens),
      resetAt: (state.timeMs + Math.ceil((limit - tokens) * msPerToken)) / 1000,
      // The bucket's time may be ahead of this caller's clock (it never moves backwards).
      waitMs: tokens >= cost ? 0 : state.timeMs + Math.ceil((cost - tokens) * msPerToken) - nowMs,
    };
  });
  const binding = buckets.reduce((worst, bucket) => {
    if (!allowed) return bucket.waitMs > worst.waitMs ? bucket : worst;
    if (bucket.remaining !== worst.remaining) return bucket.remaining < worst.remaining ? bucket : worst;
    return bucket.resetAt > worst.resetAt ? bucket : worst;
  });
  return {
    allowed,
    tokens_remaining: binding.remaining,
    reset_at: binding.resetAt,
    limit: binding.limit,
    retry_after: allowed ? null : Math.max(1, Math.ceil(binding.waitMs / 1000)),
    policies: buckets.map(({ limit, window, remaining, resetAt }) => ({ limit, window, remaining, resetAt })),
  };
}

/** The answer for an identifier an override exempts: allowed, no bucket to report. */
export function exemptDecision(limit: number): Decision {
  return { allowed: true, tokens_remaining: null, reset_at: null, limit, retry_after: null, exempt: true };
}

/** The answer given when Redis cannot answer and FAIL_MODE is open: allowed, and marked. */
export function degradedDecision(limit: number): Decision {
  return {
    allowed: true,
    tokens_remaining: null,
    reset_at: null,
    limit,
    retry_after: null,
    degraded: true,
  };
}

/** On a shadow tier: let through, marked, with the decision it would have made. */
export function shadowed(decision: Decision): Decision {
  return {
    ...decision,
    allowed: true,
    retry_after: null,
    shadow: true,
    would_allow: decision.allowed,
    would_retry_after: decision.retry_after,
  };
}
