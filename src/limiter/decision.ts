import type { NamedTier } from "../config/tiers.ts";
import type { TokenBucketReply } from "./token-bucket-script.ts";

/** The `detail` of the 503, and the message of the error the limiter throws when Redis cannot answer. */
export const UNAVAILABLE_DETAIL = "Rate limiter unavailable";

/** Seconds a client is asked to wait when the limiter itself is unavailable. */
export const UNAVAILABLE_RETRY_AFTER_S = 1;

/**
 * What the limiter answers, in the wire shape of the HTTP API and the RPC entrypoint.
 * `tokens_remaining` and `reset_at` are null only on a degraded (fail-open) answer.
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
}

/** The body of a 429, the original service's shape: the denial under `detail`, without the token count. */
export function limitedBody({ allowed, retry_after, reset_at, limit }: Decision) {
  return { detail: { allowed, retry_after, reset_at, limit } };
}

/** Turns the script's reply into a decision. The only place that reads the raw reply. */
export function decodeReply(reply: unknown, tier: NamedTier, nowMs: number): Decision {
  if (!isTokenBucketReply(reply)) {
    throw new TypeError(`Unexpected token-bucket reply: ${JSON.stringify(reply)}`);
  }
  const [allowed, tokensLeft, bucketTimeMs, msUntilFull, msUntilCost] = reply;
  const isAllowed = allowed === 1;
  return {
    allowed: isAllowed,
    tokens_remaining: tokensLeft,
    reset_at: (bucketTimeMs + msUntilFull) / 1000,
    limit: tier.limit,
    // The bucket's time may be ahead of this caller's clock (it never moves backwards).
    retry_after: isAllowed ? null : Math.max(1, Math.ceil((bucketTimeMs + msUntilCost - nowMs) / 1000)),
  };
}

function isTokenBucketReply(reply: unknown): reply is TokenBucketReply {
  return Array.isArray(reply) && reply.length === 5 && reply.every(Number.isSafeInteger);
}

/** The answer given when Redis cannot answer and FAIL_MODE is open: allowed, and marked. */
export function degradedDecision(tier: NamedTier): Decision {
  return {
    allowed: true,
    tokens_remaining: null,
    reset_at: null,
    limit: tier.limit,
    retry_after: null,
    degraded: true,
  };
}
