import type { Limit } from "../config/tiers.ts";
import type { TokenBucketReply } from "./token-bucket-script.ts";

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
  /** Present, and true, when the deny cache answered without Redis. Not part of the HTTP body. */
  cached?: true;
}

/** A bucket's limit as the script counts it: capacity, and window in whole milliseconds. */
export interface LimitMs {
  limit: number;
  windowMs: number;
}

const texts = new WeakMap<readonly Limit[], string>();

/** Limits in the script's text form, `<capacity>:<window ms>` joined by ','; made once per list. */
export function limitsText(limits: readonly Limit[]): string {
  let text = texts.get(limits);
  if (text === undefined) {
    text = limits.map(({ limit, window }) => `${limit}:${Math.round(window * 1000)}`).join(",");
    texts.set(limits, text);
  }
  return text;
}

/** The script's text form of limits, read back; empty for `exempt`. */
export function parseLimits(text: string): LimitMs[] {
  if (text === "exempt") return [];
  return text.split(",").map((part) => {
    const [limit, windowMs] = part.split(":").map(Number);
    return { limit: limit as number, windowMs: windowMs as number };
  });
}

/** The buckets of one identifier as one reply left them: exact tokens per bucket at their time. */
export interface BucketState {
  limits: LimitMs[];
  tokens: number[];
  timeMs: number;
}

/**
 * The decision for one request from its buckets just after it. Used for Redis's answers and for
 * the deny cache's alike, so both report the same way. It reports the most restrictive bucket:
 * on a denial the one that keeps the caller waiting longest, otherwise the one with the fewest
 * tokens left (the soonest-full on a tie).
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

/** What one script call decided for each of its costs, in order, and the buckets after each. */
export type BatchOutcome = Array<{ allowed: boolean; after: BucketState }>;

/**
 * Turns the script's reply into each request's outcome. The only place that reads the raw reply:
 * it replays the script's arithmetic (the same IEEE doubles, in the same order) from the exact
 * token counts it sends, so every figure matches what Redis computed.
 */
export function decodeReply(reply: unknown, costs: readonly number[]): BatchOutcome {
  const state = isReplyFor(reply, costs.length) ? stateOf(reply) : undefined;
  if (state === undefined) {
    throw new MalformedReplyError(`Unexpected token-bucket reply: ${JSON.stringify(reply)?.slice(0, 200)}`);
  }
  const flags = (reply as TokenBucketReply)[0];
  let tokens = state.tokens;
  return costs.map((cost, i) => {
    const allowed = flags[i] === "1";
    if (allowed) tokens = tokens.map((count) => count - cost);
    return { allowed, after: { ...state, tokens } };
  });
}

function isReplyFor(reply: unknown, count: number): reply is TokenBucketReply {
  if (!Array.isArray(reply) || reply.length !== 4) return false;
  const [flags, tokens, timeMs, limits] = reply;
  return (
    typeof flags === "string" &&
    flags.length === count &&
    /^[01]+$/.test(flags) &&
    typeof tokens === "string" &&
    Number.isSafeInteger(timeMs) &&
    typeof limits === "string" &&
    /^(exempt|\d+:\d+(,\d+:\d+)*)$/.test(limits)
  );
}

/** The buckets a well-formed reply describes, if their counts fit their limits. */
function stateOf([, tokensText, timeMs, limitsText]: TokenBucketReply): BucketState | undefined {
  const limits = parseLimits(limitsText);
  const tokens = tokensText === "" ? [] : tokensText.split(",").map(Number);
  const fits =
    tokens.length === limits.length &&
    tokens.every((count, i) => count >= 0 && count <= (limits[i]?.limit ?? 0));
  return fits ? { limits, tokens, timeMs } : undefined;
}

/** A reply that is not what the script returns: garbled on the way, or not from our script. */
export class MalformedReplyError extends Error {
  override name = "MalformedReplyError";
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
