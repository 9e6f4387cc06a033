import type { Limit } from "../config/tiers.ts";
import type { TokenBucketReply } from "./token-bucket-script.ts";

/*
 * The token-bucket script's side of the wire: the limits it is sent, and its reply, read back into
 * each request's outcome. The only module that knows the reply's layout.
 */

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

const parsed = new Map<string, LimitMs[]>();

/**
 * The script's text form of limits, read back; empty for `exempt`. Every reply carries its limits,
 * and there are only as many texts as tiers and overrides in use, so each is read once (the cache is
 * cleared past 1000 texts, to stay bounded whatever overrides come and go).
 */
export function parseLimits(text: string): LimitMs[] {
  let limits = parsed.get(text);
  if (limits === undefined) {
    limits =
      text === "exempt"
        ? []
        : text.split(",").map((part) => {
            const [limit, windowMs] = part.split(":").map(Number);
            return { limit: limit as number, windowMs: windowMs as number };
          });
    if (parsed.size >= 1000) parsed.clear();
    parsed.set(text, limits);
  }
  return limits;
}

/** The buckets of one identifier at one time: exact tokens per bucket, and the limits they had. */
export interface BucketState {
  limits: LimitMs[];
  tokens: number[];
  timeMs: number;
}

/**
 * Each bucket's tokens at `atMs`, refilled from `state` with the script's own arithmetic, in its
 * order (tokens + (now - ts) * capacity / window, capped at the capacity), so the figures agree with
 * what Redis would compute. No refill for a time before the buckets' own.
 */
export function refilledAt({ limits, tokens, timeMs }: BucketState, atMs: number): number[] {
  const elapsed = Math.max(0, atMs - timeMs);
  return limits.map(({ limit, windowMs }, i) =>
    Math.min(limit, (tokens[i] as number) + (elapsed * limit) / windowMs),
  );
}

/** What one script call decided: each cost's outcome in order, with the buckets just after it. */
export interface CallOutcome {
  decisions: Array<{ allowed: boolean; after: BucketState }>;
  /** The buckets after the whole call, the caller's new lease still in them. */
  state: BucketState;
  /** Tokens leased to the caller: out of Redis, the caller's to grant. */
  lease: number;
  /** Tokens out on lease to other callers, which they may still give back. */
  others: number;
}

/**
 * Turns the script's reply into each request's outcome. The only place that reads the raw reply:
 * it replays the script's arithmetic (the same IEEE doubles, in the same order) from the exact
 * token counts it sends, so every figure matches what Redis computed. A replayed call (its first
 * attempt ran; see the script) reports the buckets as they are now for each of its requests.
 */
export function decodeReply(reply: unknown, costs: readonly number[]): CallOutcome {
  if (!isReplyFor(reply, costs.length)) {
    throw new MalformedReplyError(`Unexpected token-bucket reply: ${JSON.stringify(reply)?.slice(0, 200)}`);
  }
  const [flags, tokensText, timeMs, limitsText, lease, others, replayed] = reply;
  const limits = parseLimits(limitsText);
  const counts = tokensText === "" ? [] : tokensText.split(",").map(Number);
  if (!countsFit(counts, limits, replayed === 1 ? lease : 0)) {
    // Well formed, so not garbled on the way, yet impossible from this script: retrying gets the same.
    throw new ImpossibleReplyError(
      `Token counts out of range: ${tokensText.slice(0, 200)} for ${limitsText}`,
    );
  }
  let tokens = counts;
  const decisions = costs.map((cost, i) => {
    const allowed = flags[i] === "1";
    // As the script takes them: never below 0 (a count a rounding short of the cost holds it).
    if (allowed && replayed === 0) tokens = tokens.map((count) => Math.max(0, count - cost));
    return { allowed, after: { limits, tokens, timeMs } };
  });
  return { decisions, state: { limits, tokens, timeMs }, lease, others };
}

function isReplyFor(reply: unknown, count: number): reply is TokenBucketReply {
  if (!Array.isArray(reply) || reply.length !== 7) return false;
  const [flags, tokens, timeMs, limits, lease, others, replayed] = reply;
  return (
    typeof flags === "string" &&
    flags.length === count &&
    /^[01]*$/.test(flags) &&
    typeof tokens === "string" &&
    Number.isSafeInteger(timeMs) &&
    typeof limits === "string" &&
    /^(exempt|\d+:\d+(,\d+:\d+)*)$/.test(limits) &&
    Number.isSafeInteger(lease) &&
    lease >= 0 &&
    Number.isSafeInteger(others) &&
    others >= 0 &&
    (replayed === 0 || replayed === 1)
  );
}

/** Whether there is a count per bucket, each within [0, capacity] (plus the caller's lease, replayed). */
function countsFit(counts: number[], limits: LimitMs[], lease: number): boolean {
  return (
    counts.length === limits.length &&
    counts.every((count, i) => count >= 0 && count <= (limits[i]?.limit ?? 0) + lease)
  );
}

/** A reply that is not what the script returns: garbled on the way, or not from our script. */
export class MalformedReplyError extends Error {
  override name = "MalformedReplyError";
}

/**
 * A well-formed reply whose figures the script cannot produce (a count above its capacity): not
 * garbled on the way, so sending the call again gets the same reply. Never retried, and not a
 * failure of the endpoint: a bug, answered 500 (limiter.ts), never by FAIL_MODE.
 */
export class ImpossibleReplyError extends Error {
  override name = "ImpossibleReplyError";
}
