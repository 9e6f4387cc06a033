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

/** A tier's window in whole milliseconds, as the script counts it. */
export const windowMsOf = (tier: NamedTier) => Math.round(tier.window * 1000);

/** A bucket as one reply left it: its exact tokens at its own time. */
export interface BucketState {
  tokens: number;
  timeMs: number;
}

/**
 * The decision for one request from the bucket just after it: `tokens` left at `bucketTimeMs`.
 * Used for Redis's answers and for the deny cache's alike, so both report the same way.
 */
export function decisionFrom(
  allowed: boolean,
  { tokens, timeMs }: BucketState,
  tier: NamedTier,
  cost: number,
  nowMs: number,
): Decision {
  const msPerToken = windowMsOf(tier) / tier.limit;
  return {
    allowed,
    tokens_remaining: Math.floor(tokens),
    reset_at: (timeMs + Math.ceil((tier.limit - tokens) * msPerToken)) / 1000,
    limit: tier.limit,
    // The bucket's time may be ahead of this caller's clock (it never moves backwards).
    retry_after: allowed
      ? null
      : Math.max(1, Math.ceil((timeMs + Math.ceil((cost - tokens) * msPerToken) - nowMs) / 1000)),
  };
}

/** What one script call decided for each of its costs, in order, and the bucket after each. */
export type BatchOutcome = Array<{ allowed: boolean; after: BucketState }>;

/**
 * Turns the script's reply into each request's outcome. The only place that reads the raw reply:
 * it replays the script's arithmetic (the same IEEE doubles, in the same order) from the exact
 * token count it sends, so every figure matches what Redis computed.
 */
export function decodeReply(reply: unknown, costs: readonly number[], tier: NamedTier): BatchOutcome {
  if (!isReplyFor(reply, costs.length, tier.limit)) {
    throw new MalformedReplyError(`Unexpected token-bucket reply: ${JSON.stringify(reply)?.slice(0, 200)}`);
  }
  const [flags, tokensBefore, timeMs] = reply;
  let tokens = Number(tokensBefore);
  return costs.map((cost, i) => {
    const allowed = flags[i] === "1";
    if (allowed) tokens -= cost;
    return { allowed, after: { tokens, timeMs } };
  });
}

function isReplyFor(reply: unknown, count: number, capacity: number): reply is TokenBucketReply {
  if (!Array.isArray(reply) || reply.length !== 3) return false;
  const [flags, tokens, timeMs] = reply;
  return (
    typeof flags === "string" &&
    flags.length === count &&
    /^[01]+$/.test(flags) &&
    typeof tokens === "string" &&
    Number(tokens) >= 0 &&
    Number(tokens) <= capacity &&
    Number.isSafeInteger(timeMs)
  );
}

/** A reply that is not what the script returns: garbled on the way, or not from our script. */
export class MalformedReplyError extends Error {
  override name = "MalformedReplyError";
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
