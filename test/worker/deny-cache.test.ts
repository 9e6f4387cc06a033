import { env } from "cloudflare:workers";
import fc from "fast-check";
import { afterEach, describe, expect, it, vi } from "vitest";
import type { NamedTier } from "../../src/config/tiers.ts";
import { createLimiter, type Limiter } from "../../src/limiter/limiter.ts";
import { createOverrides } from "../../src/limiter/overrides.ts";
import { createRedisEndpoint } from "../../src/limiter/redis-endpoint.ts";
import { createLogger } from "../../src/log.ts";
import { loadSettings } from "../../src/settings.ts";
import { tierOf } from "../tier.ts";
import { unique, watchRedisCalls } from "./helpers.ts";

// 10 tokens over 10 s: one token a second.
const tier: NamedTier = tierOf("test", [10, 10]);
const T0 = 1_700_000_000_000;

/** Isolates' limiters on the same buckets (a prefix of their own, so tests never meet). */
function isolates(count = 2, prefix = unique("deny-cache")): Limiter[] {
  return Array.from({ length: count }, () =>
    createLimiter(loadSettings(env), createLogger("ERROR"), { prefix }),
  );
}

afterEach(() => vi.restoreAllMocks());

describe("the deny cache", () => {
  it("answers a certain denial with no Redis call, as Redis would have", async () => {
    const [limiter] = isolates(1) as [ReturnType<typeof createLimiter>];
    await limiter.check({ identifier: "a", tier, cost: 10 }, { nowMs: T0 });
    const calls = watchRedisCalls();
    const denied = await limiter.check({ identifier: "a", tier, cost: 3 }, { nowMs: T0 + 900 });
    expect(calls).toEqual([]);
    expect(denied).toMatchObject({
      allowed: false,
      retryAfter: 3,
      decidedBy: "isolate",
      limit: 10,
      mostRestrictive: { remaining: 0, resetAt: (T0 + 10_000) / 1000 },
    });
  });

  it("asks Redis again as soon as the refill could cover the cost", async () => {
    const [limiter] = isolates(1) as [ReturnType<typeof createLimiter>];
    await limiter.check({ identifier: "a", tier, cost: 10 }, { nowMs: T0 });
    const calls = watchRedisCalls();
    const background: Promise<unknown>[] = [];
    const waitUntil = (promise: Promise<unknown>) => background.push(promise);
    const denied = await limiter.check({ identifier: "a", tier, cost: 1 }, { nowMs: T0 + 999, waitUntil });
    expect(denied).toMatchObject({ allowed: false, decidedBy: "isolate" });
    // The bucket is busy, and the reply its denials rest on near the end of its trust: it is asked
    // again off the request path, a look that writes nothing.
    await Promise.all(background);
    expect(calls).toEqual(["EVALSHA"]);
    const allowed = await limiter.check({ identifier: "a", tier, cost: 1 }, { nowMs: T0 + 1000, waitUntil });
    expect(allowed).toMatchObject({ allowed: true, decidedBy: "redis" });
    expect(calls).toEqual(["EVALSHA", "EVALSHA"]);
  });

  it("settles the requests behind the call sent as a token comes back with that call's reply, in one round trip", async () => {
    // 100 per 60 s, drained, a token taken at +603 ms: at +1200 ms exactly one is back, which the sum
    // of doubles makes 0.9999999999999999 (accuracy.test.ts). The first request goes to Redis, the
    // others wait for its call; were it denied by the rounding, they would all need a second call.
    const edge = tierOf("edge", [100, 60]);
    const [limiter] = isolates(1) as [Limiter];
    await limiter.check({ identifier: "e", tier: edge, cost: 100 }, { nowMs: T0 });
    await limiter.check({ identifier: "e", tier: edge, cost: 1 }, { nowMs: T0 + 603 });
    const calls = watchRedisCalls();
    const decisions = await Promise.all(
      Array.from({ length: 10 }, () =>
        limiter.check({ identifier: "e", tier: edge, cost: 1 }, { nowMs: T0 + 1200 }),
      ),
    );
    expect(decisions.filter(({ allowed }) => allowed)).toHaveLength(1);
    expect(calls).toEqual(["EVALSHA"]);
  });

  it("never denies what Redis would allow: several isolates, skewed clocks, leases, several limits", async () => {
    const burst: NamedTier = tierOf("burst", [10, 10], [4, 1]);
    const step = fc.record({
      isolate: fc.integer({ min: 0, max: 2 }),
      tier: fc.constantFrom(tier, burst),
      cost: fc.oneof(fc.integer({ min: 0, max: 4 }), fc.constantFrom(1, 4)),
      advanceMs: fc.oneof(fc.integer({ min: 0, max: 3000 }), fc.constant(0), fc.integer({ min: 0, max: 5 })),
    });
    const skews = fc.array(fc.integer({ min: -2000, max: 2000 }), { minLength: 3, maxLength: 3 });
    await fc.assert(
      fc.asyncProperty(skews, fc.array(step, { minLength: 1, maxLength: 30 }), async (skew, steps) => {
        const prefix = unique("oracle");
        const limiters = isolates(3, prefix);
        // Redis itself answers what Redis would allow: a limiter that has seen nothing and leases nothing.
        const oracle = () =>
          createLimiter({ ...loadSettings(env), LEASE_MS: 0 }, createLogger("ERROR"), { prefix });
        let now = T0;
        for (const { isolate, tier: at, cost, advanceMs } of steps) {
          now += advanceMs;
          const nowMs = now + (skew[isolate] as number);
          const decision = await (limiters[isolate] as Limiter).check(
            { identifier: "p", tier: at, cost },
            { nowMs },
          );
          // Only the denials the isolate answered on its own, from what it knew.
          if (decision.allowed || decision.decidedBy !== "isolate") continue;
          const redisSays = await oracle().check({ identifier: "p", tier: at, cost }, { nowMs });
          // Another isolate's clock ahead of this one's credits refill this one cannot count yet: a
          // cached denial may then come early, by at most that skew (README). Clocks that agree leave
          // no room at all.
          const aheadMs = Math.max(...skew) - (skew[isolate] as number);
          if (aheadMs > 0) {
            if (redisSays.allowed) {
              // Early by at most the skew: with its clock that much later, the isolate asks Redis.
              const later = await (limiters[isolate] as Limiter).check(
                { identifier: "p", tier: at, cost },
                { nowMs: nowMs + aheadMs },
              );
              const stillCached = !later.allowed && later.decidedBy === "isolate";
              expect(stillCached, "a cached denial early by more than the clocks' skew").toBe(false);
            }
            continue;
          }
          expect(redisSays.allowed, "a cached denial that Redis would allow").toBe(false);
          // A cached denial reports bounds: never fewer tokens, never a longer wait, than Redis.
          const [bound, redisFigure] = [decision.mostRestrictive, redisSays.mostRestrictive];
          expect(bound?.remaining).toBeGreaterThanOrEqual(redisFigure?.remaining as number);
          expect(decision.retryAfter).toBeLessThanOrEqual(redisSays.retryAfter as number);
        }
      }),
      { numRuns: 40 },
    );
  });

  it("decides concurrent requests in one isolate as one bucket taking them in order would, calls out or not", async () => {
    const small: NamedTier = tierOf("in-order", [12, 600]);
    const wave = fc.array(fc.integer({ min: 0, max: 4 }), { minLength: 1, maxLength: 8 });
    await fc.assert(
      fc.asyncProperty(fc.array(wave, { minLength: 1, maxLength: 6 }), async (waves) => {
        const [limiter] = isolates(1) as [Limiter];
        const decisions: Promise<boolean>[] = [];
        for (const costs of waves) {
          // Each wave arrives while the calls of the ones before may still be out: certain denials,
          // requests queued behind a call, leases, batches and calls all meet.
          for (const cost of costs) {
            const decision = limiter.check({ identifier: "o", tier: small, cost }, { nowMs: T0 });
            decisions.push(decision.then(({ allowed }) => allowed));
          }
          await new Promise((resolve) => setTimeout(resolve, 0));
        }
        // At one moment (no refill), the exact bucket: each request in turn, allowed if it fits.
        let tokens = 12;
        const expected = waves.flat().map((cost) => {
          const fits = tokens >= cost;
          if (fits) tokens -= cost;
          return fits;
        });
        expect(await Promise.all(decisions)).toEqual(expected);
      }),
      // A lease overtaken by a later request showed once in about 150 runs; 250 take about 2 s.
      { numRuns: 250 },
    );
  }, 30_000);

  it("never denies behind a call out what the refill brings back once another isolate left the call short", async () => {
    // Two tokens a second.
    const quick: NamedTier = tierOf("behind", [10, 5]);
    const [a, b] = isolates(2) as [Limiter, Limiter];
    const ask = (limiter: Limiter, cost: number, nowMs: number) =>
      limiter.check({ identifier: "behind", tier: quick, cost }, { nowMs });
    // Isolate a leaves 2 tokens and knows it; b takes one it never hears of.
    await ask(a, 8, T0);
    await ask(b, 1, T0);
    // At T0 + 100 a's bound (2.2) fits 2, but Redis holds 1.2: the call that goes out is denied.
    const first = ask(a, 2, T0 + 100);
    // Its call is out once the turn ends (until then the next request would join it, and be decided
    // with it at T0 + 800, the later of their clocks).
    await new Promise((resolve) => setTimeout(resolve, 0));
    // Behind it at T0 + 800, the bound less that call's cost (3.6 - 2) is short of 2: had the call been
    // allowed, this one would be denied. It was not, and by then the refill has brought Redis to 2.6.
    const behind = ask(a, 2, T0 + 800);
    expect(await first).toMatchObject({ allowed: false, decidedBy: "redis" });
    expect(await behind).toMatchObject({ allowed: true, decidedBy: "redis" });
  });

  it("answers an operator's change in every other isolate within a second", async () => {
    const prefix = unique("admin");
    const [watcher, other] = isolates(2, prefix) as [Limiter, Limiter];
    const overrides = createOverrides(createRedisEndpoint(loadSettings(env)), prefix, loadSettings(env));
    await watcher.check({ identifier: "a", tier, cost: 10 }, { nowMs: T0 });
    expect(await watcher.check({ identifier: "a", tier, cost: 5 }, { nowMs: T0 })).toMatchObject({
      allowed: false,
      decidedBy: "isolate",
    });
    await overrides.reset(tier, "a");
    // Up to a second on: still the denial the isolate knew (Redis would now allow it).
    expect(await watcher.check({ identifier: "a", tier, cost: 5 }, { nowMs: T0 + 1000 })).toMatchObject({
      allowed: false,
    });
    expect(await other.check({ identifier: "a", tier, cost: 5 }, { nowMs: T0 + 1000 })).toMatchObject({
      allowed: true,
    });
    // Past it, the isolate asks Redis again.
    expect(await watcher.check({ identifier: "a", tier, cost: 5 }, { nowMs: T0 + 1001 })).toMatchObject({
      allowed: true,
    });
  });
});

describe("a burst on one bucket", () => {
  it("admits exactly the bucket in a couple of Redis calls, however many arrive at once", async () => {
    const [limiter] = isolates(1) as [ReturnType<typeof createLimiter>];
    const calls = watchRedisCalls();
    const decisions = await Promise.all(
      Array.from({ length: 500 }, () => limiter.check({ identifier: "burst", tier, cost: 1 }, { nowMs: T0 })),
    );
    expect(decisions.filter((d) => d.allowed)).toHaveLength(10);
    expect(decisions.some((d) => d.decidedBy === "fail-open")).toBe(false);
    // The first request alone, then everything that queued meanwhile (at most 128 per call).
    expect(calls.length).toBeLessThanOrEqual(5);
  });
});
