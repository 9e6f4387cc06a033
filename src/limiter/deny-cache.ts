import type { NamedTier } from "../config/tiers.ts";
import { type Decision, decisionFrom } from "./decision.ts";
import { type BucketState, limitsText, refilledAt } from "./script-reply.ts";

/** Buckets one isolate remembers: about 7.5 MB at the bound with 36-character identifiers (README, "Inside one isolate"). */
export const DENY_CACHE_ENTRIES = 10_000;

/**
 * How long a reply may settle denials, in ms. An operator who raises an identifier's limit (an
 * override) reaches every isolate's cache within this, however low the old bound was.
 */
export const DENY_CACHE_MAX_AGE_MS = 1000;

/**
 * Tokens of slack before a denial is taken as certain: Redis may reach the same count by other
 * roundings (refills in several steps), so a bound within this of `cost` is left to Redis.
 */
const ROUNDING_SLACK = 1e-6;

interface Entry extends BucketState {
  /** The tier's configured limits when the reply came, to drop entries from another config. */
  tierLimits: string;
  rememberedAt: number;
}

/**
 * Denials an isolate can answer without Redis, exactly. Every reply tells the isolate each bucket's
 * tokens at the buckets' time; after that other callers can only take tokens, and the refill adds
 * at most `limit / window` per ms. So `tokens + refill since then` is an upper bound of what Redis
 * will find, and a request costing more than that in any bucket would be denied by Redis too: it
 * is denied here, with no round trip, and never one that Redis would allow.
 *
 * The figures of a cached denial are bounds: `tokens_remaining` at most what is left, `retry_after`
 * and `reset_at` at least as soon as Redis would say. A reply settles denials for at most
 * `DENY_CACHE_MAX_AGE_MS`; buckets that could be full again are forgotten; the least recently used
 * goes first past `maxEntries`; an entry made under other tier settings is never used.
 */
export class DenyCache {
  readonly #entries = new Map<string, Entry>();
  readonly #maxEntries: number;

  constructor(maxEntries = DENY_CACHE_ENTRIES) {
    this.#maxEntries = maxEntries;
  }

  /** Remembers the buckets under `key` as a reply at `nowMs` left them. */
  remember(key: string, tier: NamedTier, { limits, tokens, timeMs }: BucketState, nowMs: number): void {
    this.#entries.delete(key);
    if (limits.length === 0) return;
    this.#entries.set(key, {
      limits,
      tokens,
      timeMs,
      tierLimits: limitsText(tier.limits),
      rememberedAt: nowMs,
    });
    if (this.#entries.size > this.#maxEntries) {
      const oldest = this.#entries.keys().next().value;
      if (oldest !== undefined) this.#entries.delete(oldest);
    }
  }

  /** Forgets what it knew of `key`, e.g. after an operator changed it. */
  forget(key: string): void {
    this.#entries.delete(key);
  }

  /** The denial Redis would give `cost` now, when it is certain; undefined when Redis must decide. */
  deny(key: string, tier: NamedTier, cost: number, nowMs: number): Decision | undefined {
    const entry = this.#entries.get(key);
    if (entry === undefined) return undefined;
    if (entry.tierLimits !== limitsText(tier.limits) || nowMs - entry.rememberedAt > DENY_CACHE_MAX_AGE_MS) {
      this.#entries.delete(key);
      return undefined;
    }
    const timeMs = Math.max(entry.timeMs, nowMs);
    const bounds = refilledAt(entry, timeMs);
    if (bounds.every((bound, i) => bound >= (entry.limits[i]?.limit as number))) {
      this.#entries.delete(key);
      return undefined;
    }
    if (bounds.every((bound) => bound + ROUNDING_SLACK >= cost)) return undefined;
    this.#entries.delete(key);
    this.#entries.set(key, entry);
    return {
      ...decisionFrom(false, { limits: entry.limits, tokens: bounds, timeMs }, cost, nowMs),
      cached: true,
    };
  }

  /** How many buckets are remembered. */
  get size(): number {
    return this.#entries.size;
  }
}
