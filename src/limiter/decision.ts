import type { BucketState, LimitMs } from "./script-reply.ts";

/** The message of the error the limiter throws when Redis cannot answer (and the 503's `detail`). */
export const UNAVAILABLE_DETAIL = "Rate limiter unavailable";

/** One of the identifier's buckets just after a request. */
export interface BucketFigures {
  /** Capacity, in tokens. */
  limit: number;
  /** Seconds the bucket takes to refill from empty. */
  window: number;
  /** Whole tokens left. */
  remaining: number;
  /** Unix time in seconds, millisecond precision, when this bucket is full again. */
  resetAt: number;
}

/**
 * Who decided a request:
 * - `redis`: the token-bucket script, in this request's call or in one it shared with others;
 * - `isolate`: this isolate alone, from what it knows (known-buckets.ts): an admission from its
 *   lease, an exemption it was told of, or a denial it knows Redis would give;
 * - `fail-open`: nobody; Redis could not answer and FAIL_MODE=open let the request through.
 */
export type DecidedBy = "redis" | "isolate" | "fail-open";

/** What the limiter decided for one request, and how. The adapters (http/, gate/) write its wire shapes. */
export interface Decision {
  /** Whether the request may go ahead. Always true on a shadow tier: see `shadow`. */
  allowed: boolean;
  /** Whole seconds (at least 1) until `cost` tokens are there; null when allowed. */
  retryAfter: number | null;
  /** Who decided it: Redis, this isolate on its own, or FAIL_MODE=open (see `DecidedBy`). */
  decidedBy: DecidedBy;
  /**
   * The capacity the answer reports: the most restrictive bucket's, or the tier's smallest when no
   * bucket was read.
   */
  limit: number;
  /**
   * The bucket whose figures the answer reports: on a denial the one that keeps the caller waiting
   * longest, otherwise the one with the fewest tokens left (the soonest full on a tie). Absent when
   * no bucket was read: decided by `fail-open`, or `exempt`.
   */
  mostRestrictive?: BucketFigures;
  /** Every bucket of the identifier, in its limits' order; empty when no bucket was read. */
  buckets: BucketFigures[];
  /** Present, and true, when an override exempts this identifier from its tier's limits. */
  exempt?: true;
  /** On a shadow tier, which lets every request through: what an enforcing tier would have answered. */
  shadow?: { wouldAllow: boolean; wouldRetryAfter: number | null };
}

/**
 * Tokens per token of capacity by which a bucket's count may fall short of a cost and still hold it:
 * float rounding, not tokens (token-bucket-script.ts says why). Each step of a refill errs by about
 * 2^-52 of the capacity, so a count would take millions of writes to drift by it. Here, not in the
 * script's module, so that what imports the decisions' shapes (the gate's middleware, in other
 * Workers) leaves the script's text out of its bundle.
 */
export const ROUNDING = 1e-9;

/**
 * Whether a bucket of capacity `limit` holding `count` tokens holds `cost`, as the script decides it:
 * a count a rounding short of the cost holds it.
 */
const holds = (count: number, cost: number, limit: number) => count + ROUNDING * limit >= cost;

/** Each bucket's figures in `state`, in its limits' order. */
export function bucketFigures({ limits, tokens, timeMs }: BucketState): BucketFigures[] {
  return limits.map(({ limit, windowMs }, i) => {
    const count = tokens[i] as number;
    return {
      limit,
      window: windowMs / 1000,
      // The largest cost the bucket holds.
      remaining: Math.floor(count + ROUNDING * limit),
      resetAt: (timeMs + Math.ceil((limit - count) * (windowMs / limit))) / 1000,
    };
  });
}

/**
 * The decision for one request from its buckets just after it. Used for Redis's answers and for
 * the isolate's own (a certain denial, a leased admission) alike, so all report the same way; its
 * figures are those of the most restrictive bucket (see `Decision.mostRestrictive`).
 */
export function decisionFrom(
  allowed: boolean,
  state: BucketState,
  cost: number,
  nowMs: number,
  decidedBy: DecidedBy,
): Decision {
  const measured = bucketFigures(state).map((bucket, i) => {
    const { limit, windowMs } = state.limits[i] as LimitMs;
    const tokens = state.tokens[i] as number;
    // The bucket's time may be ahead of this caller's clock (it never moves backwards).
    const waitMs = holds(tokens, cost, limit)
      ? 0
      : state.timeMs + Math.ceil((cost - tokens) * (windowMs / limit)) - nowMs;
    return { bucket, waitMs };
  });
  const worst = measured.reduce((worst, next) => {
    if (!allowed) return next.waitMs > worst.waitMs ? next : worst;
    const { remaining, resetAt } = next.bucket;
    if (remaining !== worst.bucket.remaining) return remaining < worst.bucket.remaining ? next : worst;
    return resetAt > worst.bucket.resetAt ? next : worst;
  });
  return {
    allowed,
    retryAfter: allowed ? null : Math.max(1, Math.ceil(worst.waitMs / 1000)),
    decidedBy,
    limit: worst.bucket.limit,
    mostRestrictive: worst.bucket,
    buckets: measured.map(({ bucket }) => bucket),
  };
}

/** The answer for an identifier an override exempts: allowed, no bucket to report. */
export function exemptDecision(limit: number, decidedBy: DecidedBy): Decision {
  return { allowed: true, retryAfter: null, decidedBy, limit, buckets: [], exempt: true };
}

/** The answer given when Redis cannot answer and FAIL_MODE is open: allowed, no bucket read. */
export function degradedDecision(limit: number): Decision {
  return { allowed: true, retryAfter: null, decidedBy: "fail-open", limit, buckets: [] };
}

/** On a shadow tier: let through, with the decision it would have made. */
export function shadowed(decision: Decision): Decision {
  const shadow = { wouldAllow: decision.allowed, wouldRetryAfter: decision.retryAfter };
  return { ...decision, allowed: true, retryAfter: null, shadow };
}
