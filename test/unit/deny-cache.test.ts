import { describe, expect, it } from "vitest";
import type { NamedTier } from "../../src/config/tiers.ts";
import { DenyCache } from "../../src/limiter/deny-cache.ts";

// 10 tokens over 10 s: one token a second.
const tier: NamedTier = { name: "t", limit: 10, window: 10 };
const T0 = 1_700_000_000_000;

describe("deny cache", () => {
  it("denies a cost above the bucket's tokens plus the refill since the reply", () => {
    const cache = new DenyCache();
    cache.remember("k", tier, { tokens: 0.5, timeMs: T0 });
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
    cache.remember("k", tier, { tokens: 0.5, timeMs: T0 });
    expect(cache.deny("k", tier, 1, T0 + 500)).toBeUndefined();
    expect(cache.deny("k", tier, 0, T0)).toBeUndefined();
  });

  it("reports the same figures Redis would when nobody else touched the bucket", () => {
    const cache = new DenyCache();
    cache.remember("k", tier, { tokens: 0, timeMs: T0 + 5000 });
    // A caller 5 s behind the bucket's time waits from the bucket's time, as the script says.
    expect(cache.deny("k", tier, 1, T0)).toEqual({
      allowed: false,
      tokens_remaining: 0,
      reset_at: (T0 + 15_000) / 1000,
      limit: 10,
      retry_after: 6,
    });
  });

  it("never uses an entry made under other tier settings", () => {
    const cache = new DenyCache();
    cache.remember("k", tier, { tokens: 0, timeMs: T0 });
    expect(cache.deny("k", { ...tier, limit: 20 }, 1, T0)).toBeUndefined();
    expect(cache.size).toBe(0);
  });

  it("forgets a bucket once it could be full again", () => {
    const cache = new DenyCache();
    cache.remember("k", tier, { tokens: 0, timeMs: T0 });
    expect(cache.deny("k", tier, 11, T0 + 10_000)).toBeUndefined();
    expect(cache.size).toBe(0);
  });

  it("keeps at most its bound, dropping the least recently used", () => {
    const cache = new DenyCache(3);
    for (const key of ["a", "b", "c"]) cache.remember(key, tier, { tokens: 0, timeMs: T0 });
    expect(cache.deny("a", tier, 1, T0)).toBeDefined();
    cache.remember("d", tier, { tokens: 0, timeMs: T0 });
    expect(cache.size).toBe(3);
    expect(cache.deny("b", tier, 1, T0)).toBeUndefined();
    expect(cache.deny("a", tier, 1, T0)).toBeDefined();
  });
});
