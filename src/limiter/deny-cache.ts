import type { NamedTier } from "../config/tiers.ts";
import { type BucketState, type Decision, decisionFrom, windowMsOf } from "./decision.ts";

/**
 * Tokens of slack before a denial is taken as certain: Redis may reach the same count by other
 * roundings (refills in several steps), so a bound within this of `cost` is left to Redis.
 */
const ROUNDING_SLACK = 1e-6;

/** Buckets one isolate remembers: about 7 MB at the bound with 36-character identifiers (README, "The deny cache"). */
export const DENY_CACHE_ENTRIES = 10_000;

interface Entry extends BucketState {
  limit: number;
  window: number;
}

/**
 * Denials an isolate can answer without Redis, exactly. Every reply tells the isolate the bucket's
 * tokens at the bucket's time; after that other callers can only take tokens, and the refill adds
 * at most `limit / window` per ms. So `tokens + refill since then` is an upper bound of what Redis
 * will find, and a request costing more than it would be denied by Redis too: it is denied here,
 * with no round trip, and never one that Redis would allow.
 *
 * The figures of a cached denial are bounds: `tokens_remaining` at most what is left, `retry_after`
 * and `reset_at` at least as soon as Redis would say. A bucket that is full again is forgotten;
 * the least recently used goes first past `maxEntries`. An entry made under other tier settings
 * (a new config) is never used.
 */
export class DenyCache {
  readonly #entries = new Map<string, Entry>();
  readonly #maxEntries: number;

  constructor(maxEntries = DENY_CACHE_ENTRIES) {
    this.#maxEntries = maxEntries;
  }

  /** Remembers the bucket under `key` as a reply left it. */
  remember(key: string, tier: NamedTier, bucket: BucketState): void {
    this.#entries.delete(key);
    this.#entries.set(key, {
      tokens: bucket.tokens,
      timeMs: bucket.timeMs,
      limit: tier.limit,
      window: tier.window,
    });
    if (this.#entries.size > this.#maxEntries) {
      const oldest = this.#entries.keys().next().value;
      if (oldest !== undefined) this.#entries.delete(oldest);
    }
  }

  /** The denial Redis would give `cost` now, when it is certain; undefined when Redis must decide. */
  deny(key: string, tier: NamedTier, cost: number, nowMs: number): Decision | undefined {
    const entry = this.#entries.get(key);
    if (entry === undefined) return undefined;
    if (entry.limit !== tier.limit || entry.window !== tier.window) {
      this.#entries.delete(key);
      return undefined;
    }
    const timeMs = Math.max(entry.timeMs, nowMs);
    // The script's own arithmetic, in its order: tokens + (now - ts) * capacity / window.
    const bound = Math.min(
      tier.limit,
      entry.tokens + ((timeMs - entry.timeMs) * tier.limit) / windowMsOf(tier),
    );
    if (bound >= tier.limit) {
      this.#entries.delete(key);
      return undefined;
    }
    if (bound + ROUNDING_SLACK >= cost) return undefined;
    this.#entries.delete(key);
    this.#entries.set(key, entry);
    return decisionFrom(false, { tokens: bound, timeMs }, tier, cost, nowMs);
  }

  /** How many buckets are remembered. */
  get size(): number {
    return this.#entries.size;
  }
}
