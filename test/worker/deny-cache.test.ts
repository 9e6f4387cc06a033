import { env } from "cloudflare:workers";
import fc from "fast-check";
import { afterEach, describe, expect, it, vi } from "vitest";
import type { NamedTier } from "../../src/config/tiers.ts";
import { createLimiter } from "../../src/limiter/limiter.ts";
import { createLogger } from "../../src/log.ts";
import { loadSettings } from "../../src/settings.ts";
import { unique, watchRedisCalls } from "./helpers.ts";

// 10 tokens over 10 s: one token a second.
const tier: NamedTier = { name: "test", limit: 10, window: 10 };
const T0 = 1_700_000_000_000;

/** Two isolates' limiters on the same buckets (a prefix of their own, so tests never meet). */
function isolates(count = 2) {
  const prefix = unique("deny-cache");
  return Array.from({ length: count }, () =>
    createLimiter(loadSettings(env), createLogger("ERROR"), { prefix }),
  );
}

/** The bucket as the script keeps it, with the script's arithmetic: what Redis decides. */
function bucketModel() {
  let stored: { tokens: number; ts: number } | undefined;
  return (cost: number, now: number) => {
    let { tokens, ts } = stored ?? { tokens: tier.limit, ts: now };
    if (now > ts) {
      tokens = Math.min(tier.limit, tokens + ((now - ts) * tier.limit) / (tier.window * 1000));
      ts = now;
    }
    if (tokens < cost) return { allowed: false, tokens };
    tokens -= cost;
    if (cost > 0) stored = { tokens, ts };
    return { allowed: true, tokens };
  };
}

afterEach(() => vi.restoreAllMocks());

describe("the deny cache", () => {
  it("answers a certain denial with no Redis call, as Redis would have", async () => {
    const [limiter] = isolates(1) as [ReturnType<typeof createLimiter>];
    await limiter.check({ identifier: "a", tier, cost: 10 }, T0);
    const calls = watchRedisCalls();
    const denied = await limiter.check({ identifier: "a", tier, cost: 3 }, T0 + 1500);
    expect(calls).toEqual([]);
    expect(denied).toEqual({
      allowed: false,
      tokens_remaining: 1,
      reset_at: (T0 + 10_000) / 1000,
      limit: 10,
      retry_after: 2,
    });
  });

  it("asks Redis again as soon as the refill could cover the cost", async () => {
    const [limiter] = isolates(1) as [ReturnType<typeof createLimiter>];
    await limiter.check({ identifier: "a", tier, cost: 10 }, T0);
    const calls = watchRedisCalls();
    expect((await limiter.check({ identifier: "a", tier, cost: 1 }, T0 + 999)).allowed).toBe(false);
    expect(calls).toEqual([]);
    expect((await limiter.check({ identifier: "a", tier, cost: 1 }, T0 + 1000)).allowed).toBe(true);
    expect(calls).toEqual(["EVALSHA"]);
  });

  it("never denies what Redis would allow, across two isolates, random costs and clocks", async () => {
    const step = fc.record({
      isolate: fc.integer({ min: 0, max: 1 }),
      cost: fc.oneof(fc.integer({ min: 0, max: 10 }), fc.constantFrom(1, 9, 10)),
      advanceMs: fc.oneof(fc.integer({ min: 0, max: 3000 }), fc.constant(0), fc.integer({ min: 0, max: 5 })),
    });
    await fc.assert(
      fc.asyncProperty(fc.array(step, { minLength: 1, maxLength: 25 }), async (steps) => {
        const limiters = isolates();
        const redisWouldDecide = bucketModel();
        let now = T0;
        for (const { isolate, cost, advanceMs } of steps) {
          now += advanceMs;
          const expected = redisWouldDecide(cost, now);
          const decision = await (limiters[isolate] as (typeof limiters)[0]).check(
            { identifier: "p", tier, cost },
            now,
          );
          expect(decision.allowed).toBe(expected.allowed);
          // A cached denial reports bounds: never fewer tokens, never a longer wait, than Redis.
          expect(decision.tokens_remaining).toBeGreaterThanOrEqual(Math.floor(expected.tokens));
        }
      }),
      { numRuns: 40 },
    );
  });
});

describe("a burst on one bucket", () => {
  it("admits exactly the bucket in a couple of Redis calls, however many arrive at once", async () => {
    const [limiter] = isolates(1) as [ReturnType<typeof createLimiter>];
    const calls = watchRedisCalls();
    const decisions = await Promise.all(
      Array.from({ length: 500 }, () => limiter.check({ identifier: "burst", tier, cost: 1 }, T0)),
    );
    expect(decisions.filter((d) => d.allowed)).toHaveLength(10);
    expect(decisions.some((d) => d.degraded)).toBe(false);
    // The first request alone, then everything that queued meanwhile (at most 128 per call).
    expect(calls.length).toBeLessThanOrEqual(5);
  });
});
