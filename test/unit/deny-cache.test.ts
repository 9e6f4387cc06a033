import { describe, expect, it } from "vitest";
import type { NamedTier } from "../../src/config/tiers.ts";
import { DENY_CACHE_MAX_AGE_MS, DenyCache } from "../../src/limiter/deny-cache.ts";
import { type BucketState, parseLimits } from "../../src/limiter/script-reply.ts";

// 10 tokens over 10 s: one token a second.
const tier: NamedTier = { name: "t", limits: [{ limit: 10, window: 10 }], mode: "enforce" };
// A burst of 2 a second on top of it.
const burst: NamedTier = {
  name: "b",
  limits: [
    { limit: 10, window: 10 },
    { limit: 2, window: 1 },
  ],
  mode: "enforce",
};
const T0 = 1_700_000_000_000;

const state = (tokens: number[], timeMs: number, limits = "10:10000"): BucketState => ({
  limits: parseLimits(limits),
  tokens,
  timeMs,
});

describe("deny cache", () => {
  it("denies a cost above the bucket's tokens plus the refill since the reply", () => {
    const cache = new DenyCache();
    cache.remember("k", tier, state([0.5], T0), T0);
    expect(cache.deny("k", tier, 1, T0 + 400)).toMatchObject({
      allowed: false,
      tokens_remaining: 0,
      retry_after: 1,
    });
    expect(cache.deny("k", tier, 3, T0 + 1000)).toMatchObject({
      allowed: false,
      tokens_remaining: 1,
      retry_after: 2,
    });
  });

  it("leaves to Redis what the refill could already cover", () => {
    const cache = new DenyCache();
    cache.remember("k", tier, state([0.5], T0), T0);
    expect(cache.deny("k", tier, 1, T0 + 500)).toBeUndefined();
    expect(cache.deny("k", tier, 0, T0)).toBeUndefined();
  });

  it("reports the same figures Redis would when nobody else touched the bucket", () => {
    const cache = new DenyCache();
    cache.remember("k", tier, state([0], T0 + 5000), T0);
    // A caller 5 s behind the bucket's time waits from the bucket's time, as the script says.
    expect(cache.deny("k", tier, 1, T0)).toEqual({
      allowed: false,
      tokens_remaining: 0,
      reset_at: (T0 + 15_000) / 1000,
      limit: 10,
      retry_after: 6,
      policies: [{ limit: 10, window: 10, remaining: 0, resetAt: (T0 + 15_000) / 1000 }],
      cached: true,
    });
  });

  it("denies when any one of several buckets is short, reporting the one that waits longest", () => {
    const cache = new DenyCache();
    cache.remember("k", burst, state([8, 0], T0, "10:10000,2:1000"), T0);
    expect(cache.deny("k", burst, 1, T0 + 100)).toMatchObject({ allowed: false, limit: 2, retry_after: 1 });
    expect(cache.deny("k", burst, 1, T0 + 500)).toBeUndefined();
  });

  it("never uses an entry made under other tier settings", () => {
    const cache = new DenyCache();
    cache.remember("k", tier, state([0], T0), T0);
    expect(cache.deny("k", { ...tier, limits: [{ limit: 20, window: 10 }] }, 1, T0)).toBeUndefined();
    expect(cache.size).toBe(0);
  });

  it("lets a reply settle denials for a bounded time only, so a raised limit shows soon", () => {
    const cache = new DenyCache();
    cache.remember("k", tier, state([0], T0), T0);
    expect(cache.deny("k", tier, 10, T0 + DENY_CACHE_MAX_AGE_MS)).toBeDefined();
    expect(cache.deny("k", tier, 10, T0 + DENY_CACHE_MAX_AGE_MS + 1)).toBeUndefined();
  });

  it("forgets a bucket once it could be full again", () => {
    const cache = new DenyCache();
    cache.remember("k", tier, state([9.9], T0), T0);
    expect(cache.deny("k", tier, 11, T0 + 100)).toBeUndefined();
    expect(cache.size).toBe(0);
  });

  it("keeps at most its bound, dropping the least recently used", () => {
    const cache = new DenyCache(3);
    for (const key of ["a", "b", "c"]) cache.remember(key, tier, state([0], T0), T0);
    expect(cache.deny("a", tier, 1, T0)).toBeDefined();
    cache.remember("d", tier, state([0], T0), T0);
    expect(cache.size).toBe(3);
    expect(cache.deny("b", tier, 1, T0)).toBeUndefined();
    expect(cache.deny("a", tier, 1, T0)).toBeDefined();
  });
});
