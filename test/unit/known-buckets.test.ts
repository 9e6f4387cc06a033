import fc from "fast-check";
import { describe, expect, it } from "vitest";
import type { NamedTier } from "../../src/config/tiers.ts";
import { InvalidInputError } from "../../src/limiter/check-input.ts";
import { DENY_CACHE_MAX_AGE_MS, KnownBuckets } from "../../src/limiter/known-buckets.ts";
import { type BucketState, parseLimits } from "../../src/limiter/script-reply.ts";
import { tierOf } from "../tier.ts";

// 10 tokens over 10 s: one token a second.
const tier: NamedTier = tierOf("t", [10, 10]);
// A burst of 2 a second on top of it.
const burst: NamedTier = tierOf("b", [10, 10], [2, 1]);
const T0 = 1_700_000_000_000;

const LEASE_MS = 1000;
const RECORD_MS = 1000;

const state = (tokens: number[], timeMs: number, limits = "10:10000"): BucketState => ({
  limits: parseLimits(limits),
  tokens,
  timeMs,
});

/**
 * What the isolate knows of each bucket, with a `remember` for one reply's state (a lease taken,
 * others' leases outstanding) and `deny` for the old cache's question.
 */
class Known extends KnownBuckets {
  learn(
    key: string,
    at: NamedTier,
    learnt: BucketState,
    nowMs: number,
    { lease = 0, others = 0, roundTripMs = 0 } = {},
  ) {
    const outcome = { decisions: [], state: learnt, lease, others };
    const terms = { settled: 0, returned: 0, ended: 0, wanted: lease };
    this.remember(key, at, outcome, terms, nowMs, roundTripMs);
  }

  deny(key: string, at: NamedTier, cost: number, nowMs: number) {
    const answer = this.answer(key, at, cost, nowMs, false);
    return answer?.allowed === false ? answer : undefined;
  }
}

describe("certain denials", () => {
  it("denies a cost above the bucket's tokens plus the refill since the reply", () => {
    const cache = new Known(LEASE_MS, RECORD_MS);
    cache.learn("k", tier, state([0.5], T0), T0);
    expect(cache.deny("k", tier, 1, T0 + 400)).toMatchObject({
      allowed: false,
      retryAfter: 1,
      mostRestrictive: { remaining: 0 },
    });
    expect(cache.deny("k", tier, 3, T0 + 1000)).toMatchObject({
      allowed: false,
      retryAfter: 2,
      mostRestrictive: { remaining: 1 },
    });
  });

  it("leaves to Redis what the refill could already cover", () => {
    const cache = new Known(LEASE_MS, RECORD_MS);
    cache.learn("k", tier, state([0.5], T0), T0);
    expect(cache.deny("k", tier, 1, T0 + 500)).toBeUndefined();
    expect(cache.deny("k", tier, 0, T0)).toBeUndefined();
  });

  it("reports the same figures Redis would when nobody else touched the bucket", () => {
    const cache = new Known(LEASE_MS, RECORD_MS);
    cache.learn("k", tier, state([0], T0 + 5000), T0);
    // A caller 5 s behind the bucket's time waits from the bucket's time, as the script says.
    const bucket = { limit: 10, window: 10, remaining: 0, resetAt: (T0 + 15_000) / 1000 };
    expect(cache.deny("k", tier, 1, T0)).toEqual({
      allowed: false,
      retryAfter: 6,
      decidedBy: "isolate",
      limit: 10,
      mostRestrictive: bucket,
      buckets: [bucket],
    });
  });

  it("denies when any one of several buckets is short, reporting the one that waits longest", () => {
    const cache = new Known(LEASE_MS, RECORD_MS);
    cache.learn("k", burst, state([8, 0], T0, "10:10000,2:1000"), T0);
    expect(cache.deny("k", burst, 1, T0 + 100)).toMatchObject({ allowed: false, limit: 2, retryAfter: 1 });
    expect(cache.deny("k", burst, 1, T0 + 500)).toBeUndefined();
  });

  it("never uses an entry made under other tier settings", () => {
    const cache = new Known(LEASE_MS, RECORD_MS);
    cache.learn("k", tier, state([0], T0), T0);
    expect(cache.deny("k", { ...tier, limits: [{ limit: 20, window: 10 }] }, 1, T0)).toBeUndefined();
    // Nor afterwards under the first settings: the entry was made anew.
    expect(cache.deny("k", tier, 1, T0)).toBeUndefined();
  });

  it("lets a reply settle denials for a bounded time only, so a raised limit shows soon", () => {
    const cache = new Known(LEASE_MS, RECORD_MS);
    cache.learn("k", tier, state([0], T0), T0);
    expect(cache.deny("k", tier, 10, T0 + DENY_CACHE_MAX_AGE_MS)).toBeDefined();
    expect(cache.deny("k", tier, 10, T0 + DENY_CACHE_MAX_AGE_MS + 1)).toBeUndefined();
  });

  it("leaves to Redis a bucket that could be full again", () => {
    const cache = new Known(LEASE_MS, RECORD_MS);
    cache.learn("k", tier, state([9.9], T0), T0);
    expect(cache.deny("k", tier, 10, T0 + 100)).toBeUndefined();
  });

  it("counts what others hold on lease as tokens that may come back", () => {
    const cache = new Known(LEASE_MS, RECORD_MS);
    cache.learn("k", tier, state([0], T0), T0, { others: 5 });
    expect(cache.deny("k", tier, 5, T0)).toBeUndefined();
    expect(cache.deny("k", tier, 6, T0)).toMatchObject({ allowed: false, mostRestrictive: { remaining: 5 } });
  });

  it("leaves to Redis a cost within float rounding of a large bucket's bound", () => {
    const huge: NamedTier = { ...tier, limits: [{ limit: 1_000_000_000, window: 1_000_000 }] };
    const cache = new Known(LEASE_MS, RECORD_MS);
    // 1e9 tokens less 1e-5 of one: at this size, a float step is 1.2e-7, so about 84 writes'
    // rounding, well within what refills by several writers add up to in a second.
    cache.learn("k", huge, state([999_999_999.99999], T0, "1000000000:1000000000"), T0);
    expect(cache.deny("k", huge, 1_000_000_000, T0)).toBeUndefined();
    cache.learn("k", huge, state([999_999_990], T0, "1000000000:1000000000"), T0);
    expect(cache.deny("k", huge, 1_000_000_000, T0)).toMatchObject({ allowed: false });
  });

  it("refuses a cost above what the identifier's own buckets can ever hold, as invalid input", () => {
    const cache = new Known(LEASE_MS, RECORD_MS);
    // An override of 5 tokens on a tier of 10: a cost of 6 could wait forever.
    cache.learn("k", tier, state([5], T0, "5:10000"), T0);
    expect(() => cache.answer("k", tier, 6, T0)).toThrow(InvalidInputError);
    expect(cache.deny("k", tier, 5, T0)).toBeUndefined();
  });

  it("keeps at most its bound, dropping the least recently used", () => {
    const cache = new Known(LEASE_MS, RECORD_MS, 3);
    for (const key of ["a", "b", "c"]) cache.learn(key, tier, state([0], T0), T0);
    expect(cache.deny("a", tier, 1, T0)).toBeDefined();
    // A fourth bucket pushes out the one least recently used: "b", since "a" was just asked.
    cache.learn("d", tier, state([0], T0), T0);
    expect(cache.deny("b", tier, 1, T0)).toBeUndefined();
    expect(cache.deny("a", tier, 1, T0)).toBeDefined();
  });

  it("drops the oldest hundredth of its bound at once when a new bucket passes it", () => {
    // One walk from the oldest end per hundredth, not per new bucket (see #dropOldest).
    const cache = new Known(LEASE_MS, RECORD_MS, 200);
    for (let i = 0; i <= 200; i++) cache.learn(`k${i}`, tier, state([0], T0), T0);
    expect(cache.deny("k2", tier, 1, T0)).toBeDefined();
    expect(cache.deny("k1", tier, 1, T0)).toBeUndefined();
    expect(cache.deny("k0", tier, 1, T0)).toBeUndefined();
  });

  it("moves a record up only once it has sunk out of the newest quarter of its bound", () => {
    // Moving a Map entry on every request makes a busy key's lookups slow in V8 (see #entry).
    const cache = new Known(LEASE_MS, RECORD_MS, 8);
    const learnt = ["a", "b", "c", "d", "e", "f", "g", "h"];
    for (const key of learnt) cache.learn(key, tier, state([0], T0), T0);
    // "g" is among the newest two: asking it leaves the order as it is...
    expect(cache.deny("g", tier, 1, T0)).toBeDefined();
    // ...so seven new buckets push out "a" to "f", then "g" before "h".
    const added = ["i", "j", "k", "l", "m", "n", "o"];
    for (const key of added) cache.learn(key, tier, state([0], T0), T0);
    for (const key of [...added].reverse()) expect(cache.deny(key, tier, 1, T0)).toBeDefined();
    expect(cache.deny("h", tier, 1, T0)).toBeDefined();
    expect(cache.deny("g", tier, 1, T0)).toBeUndefined();
  });

  it("keeps a bucket used within the last half of its bound's steps, though it sat in the middle", () => {
    const bound = 200;
    const cache = new Known(LEASE_MS, RECORD_MS, bound);
    for (let i = 0; i < bound; i++) cache.learn(`x${i}`, tier, state([0], T0), T0);
    // Used again with 99 records after it: past the newest quarter, so it moves up...
    cache.learn("x100", tier, state([0], T0), T0);
    // ...and 99 new buckets later, while the oldest go two at a time, it is still known.
    for (let i = 0; i < bound / 2 - 1; i++) cache.learn(`y${i}`, tier, state([0], T0), T0);
    expect(cache.deny("x100", tier, 1, T0)).toBeDefined();
  });

  it("never drops a bucket it learnt of within the last half of its bound's steps", () => {
    const bound = 200;
    // Each step, a reply learnt or a request asked (of a bucket known or not), moves one record at most.
    const step = fc.record({ key: fc.integer({ min: 0, max: 600 }), learns: fc.boolean() });
    fc.assert(
      fc.property(fc.array(step, { minLength: 1, maxLength: 1500 }), (steps) => {
        const cache = new Known(LEASE_MS, RECORD_MS, bound);
        for (const { key, learns } of steps) {
          if (learns) cache.learn(`k${key}`, tier, state([0], T0), T0);
          else cache.deny(`k${key}`, tier, 1, T0);
        }
        const recent = steps.slice(-bound / 2).filter(({ learns }) => learns);
        // Asked about, a bucket it still knows is denied from what it learnt; one dropped is not.
        for (const { key } of recent) expect(cache.deny(`k${key}`, tier, 1, T0)).toBeDefined();
      }),
      { numRuns: 300 },
    );
  });
});

describe("leases", () => {
  const minute: NamedTier = tierOf("m", [100, 60]);
  const full = (timeMs: number) => state([100], timeMs, "100:60000");

  it("grants from the lease at once, with the figures Redis would give a lone isolate", () => {
    const known = new Known(LEASE_MS, RECORD_MS);
    // The call that took 5 tokens on lease after its own request left 99 (the lease still in them).
    known.learn("k", minute, state([99], T0, "100:60000"), T0, { lease: 5 });
    const granted = [1, 2, 3].map(() => known.answer("k", minute, 1, T0));
    expect(granted.map((decision) => decision?.mostRestrictive?.remaining)).toEqual([98, 97, 96]);
    expect(granted.every((decision) => decision?.allowed && decision.decidedBy === "isolate")).toBe(true);
    expect(known.answer("k", minute, 2, T0)).toMatchObject({
      allowed: true,
      mostRestrictive: { remaining: 94 },
    });
    expect(known.answer("k", minute, 1, T0)).toBeUndefined();
  });

  it("stops granting once a request it cannot hold goes to Redis, so that none after it goes first", () => {
    const known = new Known(LEASE_MS, RECORD_MS);
    known.learn("k", minute, state([99], T0, "100:60000"), T0, { lease: 5 });
    known.answer("k", minute, 1, T0);
    // 4 left: a request of 5 goes to Redis, whose call gives them back before deciding it...
    expect(known.answer("k", minute, 5, T0)).toBeUndefined();
    // ...and a request of 1 behind it must not take one of them first.
    expect(known.answer("k", minute, 1, T0)).toBeUndefined();
    expect(known.leaseFor("k", minute, T0)).toMatchObject({ settled: 5, returned: 4 });
  });

  it("stops granting LEASE_MS after the call that took the lease was sent, by the isolate's clock", () => {
    const known = new Known(LEASE_MS, RECORD_MS);
    known.learn("k", minute, full(T0), T0, { lease: 10 });
    expect(known.answer("k", minute, 1, T0 + LEASE_MS - 1)).toMatchObject({
      allowed: true,
      decidedBy: "isolate",
    });
    expect(known.answer("k", minute, 1, T0 + LEASE_MS)).toBeUndefined();
    expect(known.unspent("k", T0 + LEASE_MS)).toBe(9);
  });

  it("gives back the unspent lease with the next call, and stops granting from it", () => {
    const known = new Known(LEASE_MS, RECORD_MS);
    known.learn("k", minute, full(T0), T0, { lease: 10 });
    known.answer("k", minute, 4, T0);
    expect(known.leaseFor("k", minute, T0)).toMatchObject({ settled: 10, returned: 6 });
    expect(known.answer("k", minute, 1, T0)).toBeUndefined();
    expect(known.leaseFor("k", minute, T0).returned).toBe(0);
  });

  it("asks for a lease only on a busy bucket, sized by the tokens it was asked per lease period", () => {
    const known = new Known(LEASE_MS, RECORD_MS);
    known.answer("k", minute, 2, T0);
    expect(known.leaseFor("k", minute, T0).wanted).toBe(0);
    known.answer("k", minute, 2, T0 + 10);
    known.answer("k", minute, 3, T0 + 20);
    // 7 tokens in 20 ms, a rate measured over a tenth of the period at least: 7 per 100 ms.
    expect(known.leaseFor("k", minute, T0 + 20).wanted).toBe(70);
    // The next period still remembers the last one's demand; one period later, it is gone.
    expect(known.leaseFor("k", minute, T0 + LEASE_MS + 30).wanted).toBe(7);
    expect(known.leaseFor("k", minute, T0 + 3 * LEASE_MS + 30).wanted).toBe(0);
  });

  it("sizes a lease from the rate of the period so far", () => {
    const known = new Known(LEASE_MS, RECORD_MS);
    for (let at = 0; at < 500; at += 50) known.answer("k", minute, 1, T0 + at);
    // 10 tokens in the first half of the period: 20 in a whole one.
    expect(known.leaseFor("k", minute, T0 + 500).wanted).toBe(20);
    for (let at = 500; at < 800; at += 10) known.answer("k", minute, 1, T0 + at);
    // 40 tokens in 800 ms: 50 in a whole period.
    expect(known.leaseFor("k", minute, T0 + 800).wanted).toBe(50);
  });

  it("asks for none with LEASE_MS=0, on a tier with `lease: false`, or for a give-back", () => {
    const busy = (known: Known, at: NamedTier) => {
      for (let i = 0; i < 5; i++) known.answer("k", at, 1, T0);
      return known;
    };
    expect(busy(new Known(0, RECORD_MS), minute).leaseFor("k", minute, T0).wanted).toBe(0);
    const unleased = { ...minute, lease: false };
    expect(busy(new Known(LEASE_MS, RECORD_MS), unleased).leaseFor("k", unleased, T0).wanted).toBe(0);
    expect(busy(new Known(LEASE_MS, RECORD_MS), minute).leaseFor("k", minute, T0, "give back").wanted).toBe(
      0,
    );
  });

  it("answers a busy exempt identifier's requests without Redis while its lease time lasts", () => {
    const known = new Known(LEASE_MS, RECORD_MS);
    known.learn("k", minute, { limits: [], tokens: [], timeMs: T0 }, T0, { lease: 5 });
    expect(known.answer("k", minute, 50, T0 + 10)).toMatchObject({
      allowed: true,
      exempt: true,
      decidedBy: "isolate",
    });
    expect(known.answer("k", minute, 50, T0 + LEASE_MS)).toBeUndefined();
  });

  it("counts the tokens a call is giving back as tokens Redis may hold, until its reply", () => {
    const known = new Known(LEASE_MS, RECORD_MS);
    // All 10 tokens left were leased; the lease ends unspent, and a give-back goes out.
    known.learn("k", minute, state([10], T0, "100:60000"), T0, { lease: 10 });
    expect(known.leaseFor("k", minute, T0 + LEASE_MS, "give back")).toMatchObject({ returned: 10 });
    // While it is out, Redis may already hold them: a cost of 5 is not a certain denial.
    expect(known.deny("k", minute, 5, T0 + LEASE_MS)).toBeUndefined();
    expect(known.deny("k", minute, 12, T0 + LEASE_MS)).toBeDefined();
    // Its reply says where they are.
    known.learn("k", minute, state([0], T0 + LEASE_MS, "100:60000"), T0 + LEASE_MS);
    expect(known.deny("k", minute, 5, T0 + LEASE_MS + 1)).toBeDefined();
  });

  it("forgets the lease with the bucket, as after an operator's change", () => {
    const known = new Known(LEASE_MS, RECORD_MS);
    known.learn("k", minute, full(T0), T0, { lease: 10 });
    known.forget("k");
    expect(known.answer("k", minute, 1, T0)).toBeUndefined();
    expect(known.unspent("k", T0 + LEASE_MS)).toBe(0);
  });

  it("names a call that got no reply in the next call, carrying what it was to settle while its record lasts", () => {
    const known = new Known(LEASE_MS, RECORD_MS);
    known.learn("k", minute, full(T0), T0, { lease: 10 });
    known.answer("k", minute, 4, T0);
    const terms = known.leaseFor("k", minute, T0);
    known.lose("k", minute, "7", terms, T0);
    expect(known.leaseFor("k", minute, T0 + RECORD_MS)).toMatchObject({
      settled: 10,
      returned: 6,
      lost: "7",
    });
    known.lose("k", minute, "8", terms, T0);
    // Later, the record may be gone: naming it still brings its lease back, but settles nothing again.
    expect(known.leaseFor("k", minute, T0 + RECORD_MS + 1)).toMatchObject({
      settled: 0,
      returned: 0,
      lost: "8",
    });
    expect(known.leaseFor("k", minute, T0 + RECORD_MS + 2).lost).toBeUndefined();
  });
});

describe("renewing a lease ahead of its end", () => {
  const minute: NamedTier = tierOf("m", [100, 60]);
  const full = (timeMs: number) => state([100], timeMs, "100:60000");
  // Replies 50 ms after the send: a lease is renewed within 100 ms of its end (two round trips, and
  // the last tenth of LEASE_MS).
  const ROUND_TRIP_MS = 50;

  it.for([
    // A token asked in 850 ms: the 9 left last well past the next 100 ms; due in the lease's last 100 ms.
    { cost: 1, notYetMs: 850, dueMs: 901 },
    // 4 at a time: 6 left grant 4 again, 2 do not.
    { cost: 4, notYetMs: 10, dueMs: 20 },
  ])(
    "is due within two round trips of the lease's end, or once it cannot grant the same cost again (cost $cost)",
    ({ cost, notYetMs, dueMs }) => {
      const known = new Known(LEASE_MS, RECORD_MS);
      known.learn("k", minute, full(T0), T0, { lease: 10, roundTripMs: ROUND_TRIP_MS });
      known.answer("k", minute, cost, T0 + notYetMs);
      expect(known.renewalDue("k", cost, T0 + notYetMs)).toBe(false);
      known.answer("k", minute, cost, T0 + dueMs);
      expect(known.renewalDue("k", cost, T0 + dueMs)).toBe(true);
    },
  );

  it("is due earlier when two round trips take longer than the lease's last tenth", () => {
    const known = new Known(LEASE_MS, RECORD_MS);
    known.learn("k", minute, full(T0), T0, { lease: 10, roundTripMs: 200 });
    known.answer("k", minute, 1, T0 + 10);
    expect(known.renewalDue("k", 1, T0 + 599)).toBe(false);
    expect(known.renewalDue("k", 1, T0 + 600)).toBe(true);
  });

  it("is due by the tokens left at the bucket's rate", () => {
    const known = new Known(LEASE_MS, RECORD_MS);
    known.learn("k", minute, full(T0), T0, { lease: 40, roundTripMs: ROUND_TRIP_MS });
    // 30 tokens in 300 ms: 10 in the next 100 ms, as many as are left.
    for (let at = 0; at < 290; at += 10) known.answer("k", minute, 1, T0 + at);
    expect(known.renewalDue("k", 1, T0 + 290)).toBe(false);
    known.answer("k", minute, 1, T0 + 300);
    expect(known.renewalDue("k", 1, T0 + 300)).toBe(true);
  });

  it("keeps granting from the lease while the next one is taken, then from both, each until its own end", () => {
    const known = new Known(LEASE_MS, RECORD_MS);
    known.learn("k", minute, state([99], T0, "100:60000"), T0, { lease: 10, roundTripMs: ROUND_TRIP_MS });
    for (let i = 0; i < 6; i++) known.answer("k", minute, 1, T0 + 900);
    // The renewal settles the 6 granted and keeps the 4 left granting: nothing is given back.
    expect(known.leaseFor("k", minute, T0 + 900, "renew")).toMatchObject({ settled: 6, returned: 0 });
    expect(known.answer("k", minute, 1, T0 + 920)).toMatchObject({ allowed: true, decidedBy: "isolate" });
    // Its reply: 10 more on lease, Redis's bucket at 83 with them still in it.
    known.learn("k", minute, state([83], T0 + 900, "100:60000"), T0 + 900, { lease: 10 });
    expect(known.renewalDue("k", 1, T0 + 950)).toBe(false);
    // The figures count both leases' tokens back: 73 in Redis, 3 + 10 held, less the one granted.
    expect(known.answer("k", minute, 1, T0 + 950)?.mostRestrictive?.remaining).toBe(85);
    // At its end the first lease stops granting, with 2 left; the second grants on, its 10 and no more.
    expect(known.answer("k", minute, 10, T0 + 1000)).toMatchObject({ allowed: true });
    expect(known.unspent("k", T0 + 1000)).toBe(2);
    expect(known.answer("k", minute, 1, T0 + 1000)).toBeUndefined();
  });

  it("gives back only ended leases when it renews or gives back, and every one when it decides", () => {
    const known = new Known(LEASE_MS, RECORD_MS);
    known.learn("k", minute, full(T0), T0, { lease: 10 });
    known.answer("k", minute, 4, T0 + 100);
    known.leaseFor("k", minute, T0 + 900, "renew");
    known.learn("k", minute, full(T0 + 900), T0 + 900, { lease: 8 });
    known.answer("k", minute, 3, T0 + 1200);
    // The first lease ended at T0 + 1000 with 6 left; of the second, 3 were granted and 5 still grant.
    expect(known.leaseFor("k", minute, T0 + 1500, "give back")).toEqual({
      settled: 9,
      returned: 6,
      ended: T0 + 1000,
      wanted: 0,
      seen: expect.any(Number),
    });
    expect(known.answer("k", minute, 5, T0 + 1500)).toMatchObject({ allowed: true });
    known.learn("k", minute, full(T0 + 1500), T0 + 1500, { lease: 4 });
    known.answer("k", minute, 1, T0 + 1600);
    // Deciding, the call takes a new lease in place of them all: it gives back all that is left.
    expect(known.leaseFor("k", minute, T0 + 1600)).toMatchObject({
      settled: 9,
      returned: 3,
      ended: T0 + 1600,
    });
    expect(known.answer("k", minute, 1, T0 + 1600)).toBeUndefined();
  });

  it("is not due on a bucket that already holds its next lease, or has no live one", () => {
    const known = new Known(LEASE_MS, RECORD_MS);
    known.learn("k", minute, full(T0), T0, { lease: 3, roundTripMs: ROUND_TRIP_MS });
    known.answer("k", minute, 2, T0);
    expect(known.renewalDue("k", 2, T0)).toBe(true);
    known.leaseFor("k", minute, T0, "renew");
    known.learn("k", minute, full(T0), T0 + 10, { lease: 2 });
    expect(known.renewalDue("k", 2, T0 + 20)).toBe(false);
    expect(known.renewalDue("k", 1, T0 + 2000)).toBe(false);
    expect(known.renewalDue("other", 1, T0)).toBe(false);
  });

  it("is due again once the lease it grants from is spent, though the one before has not ended", () => {
    const known = new Known(LEASE_MS, RECORD_MS);
    known.learn("k", minute, full(T0), T0, { lease: 4, roundTripMs: ROUND_TRIP_MS });
    known.answer("k", minute, 4, T0 + 10);
    expect(known.renewalDue("k", 1, T0 + 10)).toBe(true);
    // The renewal drops the spent lease, gives nothing back, and asks for a lease in its place.
    expect(known.leaseFor("k", minute, T0 + 10, "renew")).toMatchObject({ settled: 4, returned: 0 });
    known.learn("k", minute, full(T0 + 10), T0 + 10, { lease: 40 });
    known.answer("k", minute, 5, T0 + 20);
    expect(known.renewalDue("k", 5, T0 + 20)).toBe(false);
    // The second lease is near empty long before the first one's end: the next is due, not held back.
    known.answer("k", minute, 34, T0 + 30);
    expect(known.renewalDue("k", 2, T0 + 30)).toBe(true);
    expect(known.leaseFor("k", minute, T0 + 30, "renew").wanted).toBeGreaterThan(0);
  });

  it("asks again what a busy bucket's certain denials rest on before the reply is too old to trust", () => {
    const known = new Known(LEASE_MS, RECORD_MS);
    known.learn("k", minute, state([0], T0, "100:60000"), T0, { roundTripMs: ROUND_TRIP_MS });
    expect(known.answer("k", minute, 1, T0 + 10)).toMatchObject({ allowed: false });
    // Asked once: not busy, and left to the request that finds the reply too old.
    expect(known.renewalDue("k", 1, T0 + DENY_CACHE_MAX_AGE_MS - 50)).toBe(false);
    expect(known.answer("k", minute, 1, T0 + 20)).toMatchObject({ allowed: false });
    expect(known.renewalDue("k", 1, T0 + DENY_CACHE_MAX_AGE_MS - 101)).toBe(false);
    expect(known.renewalDue("k", 1, T0 + DENY_CACHE_MAX_AGE_MS - 100)).toBe(true);
  });

  it("renews a busy exemption within two round trips of its end", () => {
    const known = new Known(LEASE_MS, RECORD_MS);
    known.learn("k", minute, { limits: [], tokens: [], timeMs: T0 }, T0, {
      lease: 5,
      roundTripMs: ROUND_TRIP_MS,
    });
    expect(known.renewalDue("k", 1, T0 + 899)).toBe(false);
    expect(known.renewalDue("k", 1, T0 + 900)).toBe(true);
  });

  it("carries what a lost renewal was to settle, with what it settles itself, into the next call", () => {
    const known = new Known(LEASE_MS, RECORD_MS);
    known.learn("k", minute, full(T0), T0, { lease: 10 });
    known.answer("k", minute, 4, T0 + 100);
    const terms = known.leaseFor("k", minute, T0 + 900, "renew");
    expect(terms).toMatchObject({ settled: 4, returned: 0 });
    known.lose("k", minute, "9", terms, T0 + 900);
    // Granted on while the renewal was out: 2 more; at its end, 4 are left.
    known.answer("k", minute, 2, T0 + 950);
    expect(known.leaseFor("k", minute, T0 + 1100)).toMatchObject({
      settled: 10,
      returned: 4,
      ended: T0 + 1000,
      lost: "9",
    });
  });
});

describe("opening calls", () => {
  const minute: NamedTier = tierOf("m", [100, 60]);
  /** A reply as `remember` gets it from a call whose terms were `terms`. */
  const reply = (tokens: number, timeMs: number, lease = 0) => ({
    decisions: [],
    state: state([tokens], timeMs, "100:60000"),
    lease,
    others: 0,
  });

  it("opens on a bucket the isolate is not busy on and holds nothing of, or whose tier does not lease", () => {
    const known = new Known(LEASE_MS, RECORD_MS);
    expect(known.opens("k", minute)).toBe(true);
    known.answer("k", minute, 1, T0);
    expect(known.opens("k", minute)).toBe(true);
    // A second request in the lease period: busy, so its call asks for a lease.
    known.answer("k", minute, 1, T0 + 10);
    expect(known.opens("k", minute)).toBe(false);
    const unleased = { ...minute, lease: false };
    for (const at of [0, 10, 20]) known.answer("u", unleased, 1, T0 + at);
    expect(known.opens("u", unleased)).toBe(true);
    const noLeases = new Known(0, RECORD_MS);
    for (const at of [0, 10, 20]) noLeases.answer("k", minute, 1, T0 + at);
    expect(noLeases.opens("k", minute)).toBe(true);
  });

  it("does not open while the isolate holds a lease, gives one back, or must name a lost call", () => {
    const holding = new Known(LEASE_MS, RECORD_MS);
    holding.learn("k", minute, state([90], T0, "100:60000"), T0, { lease: 5 });
    expect(holding.opens("k", minute)).toBe(false);
    // The lease settled and given back by a call that is still out: its tokens are on their way.
    holding.leaseFor("k", minute, T0 + 2 * LEASE_MS, "give back");
    expect(holding.opens("k", minute)).toBe(false);
    const losing = new Known(LEASE_MS, RECORD_MS);
    losing.lose("k", minute, "7", { settled: 0, returned: 0, ended: T0, wanted: 3 }, T0);
    expect(losing.opens("k", minute)).toBe(false);
    // A lost call that carried nothing of a lease (an opening call) is not one to name.
    const opening = new Known(LEASE_MS, RECORD_MS);
    opening.lose("k", minute, "8", { settled: 0, returned: 0, ended: T0, wanted: 0 }, T0);
    expect(opening.opens("k", minute)).toBe(true);
  });

  it("keeps the buckets of whichever of two overlapping calls Redis ran later, whatever order their replies come in", () => {
    // The opening call took 1 at T0; the call beside it, 1 and a lease of 20, at T0 + 5.
    const cases = [
      // Redis ran the opening call first: the later call's bucket time is its own, later.
      { opening: reply(99, T0), beside: reply(98, T0 + 5, 20), left: 78 },
      // Redis ran the call beside it first; the opening call found the bucket's time ahead of its
      // clock (it never goes back) and left 1 fewer.
      { opening: reply(77, T0 + 5), beside: reply(98, T0 + 5, 20), left: 77 },
    ];
    for (const { opening, beside, left } of cases) {
      for (const besideFirst of [false, true]) {
        const known = new Known(LEASE_MS, RECORD_MS);
        known.answer("k", minute, 1, T0);
        const openingTerms = known.leaseFor("k", minute, T0);
        known.answer("k", minute, 1, T0 + 5);
        const besideTerms = known.leaseFor("k", minute, T0 + 5);
        const replies = [
          () => known.remember("k", minute, opening, openingTerms, T0),
          () => known.remember("k", minute, beside, besideTerms, T0 + 5),
        ];
        for (const remember of besideFirst ? replies.reverse() : replies) remember();
        // Granted from the lease, the figures are Redis's with the lease back in: left + 20 - 1.
        expect(known.answer("k", minute, 1, T0 + 5)?.mostRestrictive?.remaining).toBe(left + 19);
      }
    }
  });

  it("knows Redis's buckets once both replies are in, whatever order Redis ran the two calls and their replies came", () => {
    // A bucket of 20 that does not refill in the test's time; Redis's script, for one bucket.
    const still: NamedTier = tierOf("s", [20, 86_400]);
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 20 }),
        fc.integer({ min: 1, max: 5 }),
        fc.integer({ min: 1, max: 5 }),
        fc.integer({ min: 0, max: 5 }),
        fc.boolean(),
        fc.boolean(),
        (start, openingCost, besideCost, apartMs, besideRanFirst, besideRepliedFirst) => {
          const known = new Known(LEASE_MS, RECORD_MS);
          known.answer("k", still, openingCost, T0);
          const openingTerms = known.leaseFor("k", still, T0);
          known.answer("k", still, besideCost, T0 + apartMs);
          const besideTerms = known.leaseFor("k", still, T0 + apartMs);
          let tokens = start;
          let time = 0;
          const run = (cost: number, nowMs: number, wanted: number) => {
            time = Math.max(time, nowMs);
            if (tokens >= cost) tokens -= cost;
            const lease = Math.min(wanted, Math.floor(tokens / 2));
            tokens -= lease;
            const outcome = {
              decisions: [],
              state: state([tokens + lease], time, "20:86400000"),
              lease,
              others: 0,
            };
            return outcome;
          };
          const runOpening = () => run(openingCost, T0, openingTerms.wanted);
          const runBeside = () => run(besideCost, T0 + apartMs, besideTerms.wanted);
          const [first, second] = besideRanFirst ? [runBeside(), runOpening()] : [runOpening(), runBeside()];
          const [opening, beside] = besideRanFirst ? [second, first] : [first, second];
          const replies = [
            () => known.remember("k", still, opening, openingTerms, T0),
            () => known.remember("k", still, beside, besideTerms, T0 + apartMs),
          ];
          for (const remember of besideRepliedFirst ? replies.reverse() : replies) remember();

          expect(openingTerms.wanted).toBe(0);
          const nowMs = T0 + apartMs;
          if (beside.lease > 0) {
            // Granted from the lease: Redis's buckets with the lease back in, less the cost.
            const granted = known.answer("k", still, 1, nowMs, false);
            expect(granted?.mostRestrictive?.remaining).toBe(Math.floor(tokens + beside.lease - 1));
          } else {
            // A certain denial only of what Redis would deny.
            for (let cost = 1; cost <= 20; cost++) {
              const denial = known.answer("k", still, cost, nowMs, false);
              if (denial?.allowed === false) expect(cost).toBeGreaterThan(tokens);
            }
          }
        },
      ),
      { numRuns: 300 },
    );
  });

  it("keeps, at one bucket time, the buckets of the overlapping call that gave tokens back", () => {
    const known = new Known(LEASE_MS, RECORD_MS);
    known.answer("k", minute, 1, T0);
    const openingTerms = known.leaseFor("k", minute, T0);
    // Beside it, a call that gives back 10 tokens; Redis ran it after the opening call.
    const besideTerms = { ...known.leaseFor("k", minute, T0), returned: 10, settled: 10 };
    known.remember("k", minute, reply(99, T0), openingTerms, T0);
    known.remember("k", minute, reply(100, T0), besideTerms, T0);
    // 100 is in Redis: a request for 100 is Redis's to decide, never a certain denial.
    expect(known.answer("k", minute, 100, T0)).toBeUndefined();
  });
});
