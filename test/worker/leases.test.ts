import { env } from "cloudflare:workers";
import fc from "fast-check";
import { afterEach, describe, expect, it, vi } from "vitest";
import type { NamedTier } from "../../src/config/tiers.ts";
import { createLimiter, type Limiter } from "../../src/limiter/limiter.ts";
import { createLogger } from "../../src/log.ts";
import { loadSettings } from "../../src/settings.ts";
import { tierOf } from "../tier.ts";
import { unique, watchRedisCalls } from "./helpers.ts";

// 20 tokens refilled over 200 s: a tenth of a token a second, so the bound is tight (a token granted
// twice shows) while refill still counts in a run of several seconds.
const C = 20;
const WINDOW_MS = 200_000;
const tierOfCapacity = (capacity: number): NamedTier => ({
  name: "lease",
  limits: [{ limit: capacity, window: WINDOW_MS / 1000 }],
  mode: "enforce",
  lease: true,
});
const tier = tierOfCapacity(C);
const LEASE_MS = Number(loadSettings(env).LEASE_MS);
const T0 = 1_700_000_000_000;

/** An isolate's limiter on the test's buckets. */
const isolate = (prefix: string): Limiter =>
  createLimiter(loadSettings(env), createLogger("ERROR"), { prefix });

afterEach(() => vi.restoreAllMocks());

describe("leases", () => {
  // Three times as many tokens: more requests granted from leases, so more leases renewed ahead of
  // their ends, and still tight.
  it.for([C, 3 * C])(
    "never admit more than C + r*(T + LEASE_MS + skew) in any window, nor any token twice: isolates, skew, deaths (C = %i)",
    { timeout: 120_000 },
    async (capacity) => {
      const shared = tierOfCapacity(capacity);
      const RATE_PER_MS = capacity / WINDOW_MS;
      const arrival = fc.record({
        isolate: fc.integer({ min: 0, max: 3 }),
        // Several requests at once from one isolate, so batches and leases meet.
        costs: fc.array(fc.oneof(fc.constantFrom(1, 1, 1, 2), fc.integer({ min: 0, max: 3 })), {
          minLength: 1,
          maxLength: 4,
        }),
        advanceMs: fc.oneof(fc.integer({ min: 0, max: 50 }), fc.integer({ min: 0, max: 1500 })),
        // The isolate dies first, holding whatever lease it had: its tokens are left to the refill.
        dies: fc.integer({ min: 0, max: 9 }).map((n) => n < 2),
        // Sent while the earlier arrivals' calls may still be out, or only once they are all answered.
        overlaps: fc.boolean(),
      });
      const skews = fc.array(fc.integer({ min: -300, max: 300 }), { minLength: 4, maxLength: 4 });
      await fc.assert(
        fc.asyncProperty(
          skews,
          fc.array(arrival, { minLength: 5, maxLength: 40 }),
          async (skew, arrivals) => {
            const prefix = unique("lease-sim");
            const limiters = Array.from({ length: 4 }, () => isolate(prefix));
            const granted: Array<{ at: number; cost: number }> = [];
            const pending: Promise<void>[] = [];
            let now = T0;
            for (const { isolate: i, costs, advanceMs, dies, overlaps } of arrivals) {
              if (!overlaps) await Promise.all(pending.splice(0));
              // One turn of the event loop: an overlapping arrival meets a call that is out.
              else await new Promise((resolve) => setTimeout(resolve, 0));
              now += advanceMs;
              if (dies) limiters[i] = isolate(prefix);
              const limiter = limiters[i] as Limiter;
              const at = now;
              const nowMs = now + (skew[i] as number);
              for (const cost of costs) {
                pending.push(
                  limiter.check({ identifier: "shared", tier: shared, cost }, { nowMs }).then((decision) => {
                    expect(decision.decidedBy).not.toBe("fail-open");
                    if (decision.allowed) granted.push({ at, cost });
                  }),
                );
              }
            }
            await Promise.all(pending);
            const spreadMs = Math.max(...skew) - Math.min(...skew);
            // Any window [a, b] of the true time: at most C, plus the refill of the window widened by a
            // lease's time (tokens leased before it, granted in it) and by the clocks' disagreement.
            for (const start of granted) {
              for (const end of granted) {
                if (end.at < start.at) continue;
                const inWindow = granted.filter(({ at }) => at >= start.at && at <= end.at);
                const taken = inWindow.reduce((sum, { cost }) => sum + cost, 0);
                const bound = capacity + RATE_PER_MS * (end.at - start.at + LEASE_MS + spreadMs);
                expect(taken, `granted in [${start.at - T0}, ${end.at - T0}] ms`).toBeLessThanOrEqual(
                  bound + 1e-9,
                );
              }
            }
            // No token granted twice: all told, no more than the bucket ever held.
            const total = granted.reduce((sum, { cost }) => sum + cost, 0);
            expect(total).toBeLessThanOrEqual(capacity + RATE_PER_MS * (now - T0 + spreadMs) + 1e-9);
          },
        ),
        { numRuns: 60 },
      );
    },
  );

  it("admits exactly C of N simultaneous requests in one isolate", async () => {
    const limiter = isolate(unique("lease-burst"));
    // Busy first, so a lease is taken: the burst must still stop at the capacity.
    for (let i = 0; i < 3; i++) await limiter.check({ identifier: "b", tier, cost: 1 }, { nowMs: T0 });
    const decisions = await Promise.all(
      Array.from({ length: 200 }, () => limiter.check({ identifier: "b", tier, cost: 1 }, { nowMs: T0 })),
    );
    expect(decisions.filter(({ allowed }) => allowed)).toHaveLength(C - 3);
    expect(decisions.some(({ decidedBy }) => decidedBy === "fail-open")).toBe(false);
  });

  it("answers the requests of a busy bucket from its lease, with no round trip, and the figures Redis would give", async () => {
    const big: NamedTier = tierOf("lease-big", [1000, 60]);
    const limiter = isolate(unique("lease-local"));
    const first = [];
    for (let i = 0; i < 3; i++)
      first.push(await limiter.check({ identifier: "hot", tier: big, cost: 1 }, { nowMs: T0 }));
    const calls = watchRedisCalls();
    const leased = await limiter.check({ identifier: "hot", tier: big, cost: 1 }, { nowMs: T0 });
    expect(calls).toEqual([]);
    // The seed's sequence holds while one isolate uses the bucket: 999, 998, 997, then 996 from the lease.
    expect([...first, leased].map((decision) => decision.mostRestrictive?.remaining)).toEqual([
      999, 998, 997, 996,
    ]);
    expect(leased).toMatchObject({ allowed: true, decidedBy: "isolate", limit: 1000 });
  });

  it("decides every request in Redis on a tier with `lease: false`", async () => {
    const strict: NamedTier = { ...tier, name: "lease-off", lease: false };
    const limiter = isolate(unique("lease-off"));
    for (let i = 0; i < 3; i++)
      await limiter.check({ identifier: "s", tier: strict, cost: 1 }, { nowMs: T0 });
    const calls = watchRedisCalls();
    await limiter.check({ identifier: "s", tier: strict, cost: 1 }, { nowMs: T0 });
    expect(calls).toEqual(["EVALSHA"]);
  });
});
