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

/** The buckets of one identifier as one reply left them: exact tokens per bucket at their time. */
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
