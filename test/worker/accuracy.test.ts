import { env } from "cloudflare:workers";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import type { NamedTier } from "../../src/config/tiers.ts";
import { InvalidInputError } from "../../src/limiter/check-input.ts";
import { createLimiter } from "../../src/limiter/limiter.ts";
import { recordKey, TOKEN_BUCKET_SCRIPT } from "../../src/limiter/token-bucket-script.ts";
import { createLogger } from "../../src/log.ts";
import { loadSettings } from "../../src/settings.ts";
import { tierOf } from "../tier.ts";
import { redis, unique } from "./helpers.ts";

// A bucket of 10 tokens refilled over 10 s: one token a second, easy to reason about.
const tier: NamedTier = tierOf("test", [10, 10]);
const T0 = 1_700_000_000_000;

/** A limiter on its own key prefix, so each test owns its buckets. */
function limiterForTest(at: NamedTier = tier) {
  const prefix = unique("accuracy");
  const limiter = createLimiter(loadSettings(env), createLogger("ERROR"), { prefix });
  return {
    prefix,
    key: (identifier: string) => `${prefix}:${at.name}:${identifier}`,
    check: (cost: number, nowMs: number, identifier = "caller") =>
      limiter.check({ identifier, tier: at, cost }, { nowMs }),
  };
}

/** A bucket's hash with its callers' record fields (`c:<caller>`) set apart under `c`. */
function splitCallers(
  hash: Record<string, unknown> | null,
): Record<string, unknown> & { c: Record<string, unknown> } {
  const c: Record<string, unknown> = {};
  const rest: Record<string, unknown> = {};
  for (const [field, value] of Object.entries(hash ?? {})) {
    if (field.startsWith("c:")) c[field] = value;
    else rest[field] = value;
  }
  return { ...rest, c };
}

describe("token bucket", () => {
  it("admits exactly the capacity of N concurrent requests", async () => {
    const { check } = limiterForTest();
    const decisions = await Promise.all(Array.from({ length: 25 }, () => check(1, T0)));
    expect(decisions.filter((d) => d.allowed)).toHaveLength(10);
    expect(decisions.filter((d) => !d.allowed)).toHaveLength(15);
  });

  it("refills continuously as time passes, keeping fractions", async () => {
    const { check } = limiterForTest();
    await check(10, T0);
    expect((await check(0, T0 + 500)).mostRestrictive?.remaining).toBe(0);
    expect((await check(0, T0 + 1500)).mostRestrictive?.remaining).toBe(1);
    // 2.5 tokens are there at +2.5 s: two can be taken, leaving the half that made 3 whole at +3 s.
    expect((await check(2, T0 + 2500)).allowed).toBe(true);
    expect((await check(1, T0 + 2999)).allowed).toBe(false);
    expect((await check(1, T0 + 3000)).allowed).toBe(true);
  });

  it("holds a token from the very moment it is back, however the count's doubles round", async () => {
    // 100 per 60 s, drained: a token taken at +603 ms leaves 0.004999999999999893 of one, and at
    // +1200 ms, when exactly one is back, the refill's sum is 0.9999999999999999.
    const { check } = limiterForTest(tierOf("rounding", [100, 60]));
    await check(100, T0);
    expect((await check(1, T0 + 603)).allowed).toBe(true);
    expect(await check(0, T0 + 1200)).toMatchObject({ allowed: true, mostRestrictive: { remaining: 1 } });
    expect(await check(1, T0 + 1200)).toMatchObject({ allowed: true, mostRestrictive: { remaining: 0 } });
    expect(await check(1, T0 + 1200)).toMatchObject({ allowed: false, retryAfter: 1 });
  });

  it("decides as exact arithmetic does, at refill edges and between them (property)", async () => {
    // The exact count in units of 1/window_ms of a token is a whole number: a millisecond refills
    // `capacity` of them. So an exact count short of a cost is short by a unit at least, more than the
    // script's rounding slack (1e-9 of a token per token of capacity) while capacity * window_ms < 1e9.
    const step = fc.record({
      waitMs: fc.oneof(fc.constant("until the cost is back" as const), fc.integer({ min: 0, max: 5000 })),
      cost: fc.integer({ min: 0, max: 3 }),
    });
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 1, max: 100 }),
        fc.integer({ min: 1, max: 3600 }),
        fc.array(step, { minLength: 1, maxLength: 12 }),
        async (capacity, window, steps) => {
          // Not leasing: leased tokens come back less the refill since, which exact counting leaves out.
          const { check } = limiterForTest({ ...tierOf("exact", [capacity, window]), lease: false });
          const windowMs = window * 1000;
          let units = 0;
          let now = T0;
          await check(capacity, now);
          for (const { waitMs, cost: asked } of steps) {
            const cost = Math.min(asked, capacity);
            const short = cost * windowMs - units;
            const wait =
              waitMs === "until the cost is back" ? Math.max(0, Math.ceil(short / capacity)) : waitMs;
            now += wait;
            units = Math.min(capacity * windowMs, units + wait * capacity);
            const allowed = units >= cost * windowMs;
            if (allowed) units -= cost * windowMs;
            const decision = await check(cost, now);
            expect(decision.allowed, `cost ${cost} at +${now - T0} ms`).toBe(allowed);
            expect(decision.mostRestrictive?.remaining).toBe(Math.floor(units / windowMs));
          }
        },
      ),
      { numRuns: 40 },
    );
  });

  it("never refills past the capacity", async () => {
    const { check } = limiterForTest();
    await check(1, T0);
    const decision = await check(0, T0 + 3_600_000);
    expect(decision.mostRestrictive).toMatchObject({ remaining: 10, resetAt: (T0 + 3_600_000) / 1000 });
  });

  it("takes cost tokens at once", async () => {
    const { check } = limiterForTest();
    expect(await check(7, T0)).toMatchObject({ allowed: true, mostRestrictive: { remaining: 3 } });
    expect((await check(3, T0)).mostRestrictive?.remaining).toBe(0);
  });

  it("peeks without taking anything when cost is 0", async () => {
    const { check } = limiterForTest();
    await check(4, T0);
    expect(await check(0, T0)).toMatchObject({ allowed: true, mostRestrictive: { remaining: 6 } });
    expect(await check(0, T0)).toMatchObject({ allowed: true, mostRestrictive: { remaining: 6 } });
  });

  it("denies without consuming when cost exceeds what is left", async () => {
    const { check } = limiterForTest();
    await check(8, T0);
    const denied = await check(5, T0);
    expect(denied).toMatchObject({ allowed: false, retryAfter: 3, mostRestrictive: { remaining: 2 } });
    expect(await check(2, T0)).toMatchObject({ allowed: true, mostRestrictive: { remaining: 0 } });
  });

  it("gives retry_after as whole seconds until cost tokens are there, at least 1", async () => {
    const { check } = limiterForTest();
    await check(10, T0);
    expect((await check(1, T0)).retryAfter).toBe(1);
    expect((await check(1, T0 + 900)).retryAfter).toBe(1);
    expect((await check(4, T0)).retryAfter).toBe(4);
    expect((await check(4, T0 + 100)).retryAfter).toBe(4);
  });

  it("reports reset_at as the moment the bucket is full again, in seconds with ms precision", async () => {
    const { check } = limiterForTest();
    const decision = await check(3, T0 + 123);
    expect(decision.mostRestrictive?.resetAt).toBe((T0 + 123 + 3000) / 1000);
  });

  it("never lets a lagging clock take the bucket's time backwards", async () => {
    const { check } = limiterForTest();
    await check(10, T0 + 5000);
    // A caller whose clock is 5 s behind gets no refill for those 5 s, and waits from the bucket's time.
    const lagging = await check(1, T0);
    expect(lagging).toMatchObject({ allowed: false, retryAfter: 6 });
    expect(lagging.mostRestrictive).toMatchObject({ remaining: 0, resetAt: (T0 + 15_000) / 1000 });
    expect((await check(1, T0 + 6000)).allowed).toBe(true);
  });

  it("expires a bucket two to three windows after its last write, setting the expiry once a window", async () => {
    const { check, key } = limiterForTest();
    const now = Date.now();
    await check(1, now);
    expect(await redis().hget(key("caller"), "expires")).toBe(now + 30_000);
    const ttl = await redis().pttl(key("caller"));
    expect(ttl).toBeGreaterThan(29_000);
    expect(ttl).toBeLessThanOrEqual(30_000);
    // Marks the expiry, to see whether the next writes set it again.
    await redis().pexpire(key("caller"), 25_000);
    await check(1, now + 5000);
    expect(await redis().pttl(key("caller"))).toBeLessThanOrEqual(25_000);
    expect(await redis().hget(key("caller"), "expires")).toBe(now + 30_000);
    // A window after the expiry was set, it would leave less than two windows: set again.
    await check(1, now + 10_001);
    expect(await redis().pttl(key("caller"))).toBeGreaterThan(29_000);
    expect(await redis().hget(key("caller"), "expires")).toBe(now + 40_001);
  });

  it.each([
    ["under a shorter window (an older config.yaml)", T0 + 3000],
    ["on a clock an hour ahead of this caller's", T0 + 3_600_000],
  ])("sets again an expiry set %s", async (_, expires) => {
    const { check, key } = limiterForTest();
    await redis().hset(key("caller"), { tokens: 5, ts: T0, expires });
    await redis().pexpire(key("caller"), 3000);
    await check(1, T0);
    expect(await redis().hget(key("caller"), "expires")).toBe(T0 + 30_000);
    expect(await redis().pttl(key("caller"))).toBeGreaterThan(29_000);
  });

  it("keeps one small hash per bucket, the last call's outcome in its caller's own field", async () => {
    const { check, key, prefix } = limiterForTest();
    await check(3, T0);
    const { c, ...bucket } = splitCallers(await redis().hgetall<Record<string, unknown>>(key("caller")));
    expect(bucket).toEqual({ tokens: 7, ts: T0, out: 0, out_until: 0, expires: T0 + 30_000 });
    // The caller's record, for its retries: the bucket's time, then <serial>/<one flag per request>/<tokens leased>.
    expect(Object.values(c)).toEqual([`${T0} 1/1/0`]);
    expect(Object.keys(c)[0]).toMatch(/^c:[0-9a-f]{16}$/);
    expect(await redis().keys(`${prefix}/call/*`)).toEqual([]);
  });

  it("writes nothing for a denial or a peek", async () => {
    const { check, key } = limiterForTest();
    await check(0, T0);
    expect(await redis().exists(key("caller"))).toBe(0);
    await check(9, T0);
    const written = await redis().hgetall(key("caller"));
    await check(5, T0 + 1000);
    await check(0, T0 + 2000);
    expect(await redis().hgetall(key("caller"))).toEqual(written);
  });
});

describe("limits lowered under a bucket (a config change, an isolate not yet redeployed)", () => {
  const lowered: NamedTier = tierOf("lowered", [50, 60]);
  const burstLowered: NamedTier = tierOf("burst-lowered", [10, 1], [500, 60]);

  // The bucket's time is 5 s ahead of T0, as a hot bucket's often is: the latest clock of every writer.
  it.each([
    ["behind", T0],
    ["equal to", T0 + 5000],
    ["ahead of", T0 + 6000],
  ])("holds stored tokens to the new capacity, with the caller's clock %s the bucket's", async (_, nowMs) => {
    const { check, key } = limiterForTest(lowered);
    await redis().hset(key("caller"), { tokens: 80, ts: T0 + 5000 });
    const decision = await check(1, nowMs);
    expect(decision).toMatchObject({ allowed: true, limit: 50, mostRestrictive: { remaining: 49 } });
    expect(Number(await redis().hget(key("caller"), "tokens"))).toBe(49);
  });

  it.each([
    ["behind", T0],
    ["equal to", T0 + 5000],
    ["ahead of", T0 + 6000],
  ])(
    "holds every bucket of a tier to its new capacity, with the caller's clock %s the bucket's",
    async (_, nowMs) => {
      const { check, key } = limiterForTest(burstLowered);
      await redis().hset(key("caller"), { "tokens:1000": 30, "tokens:60000": 800, ts: T0 + 5000 });
      const decision = await check(1, nowMs);
      expect(decision).toMatchObject({ allowed: true, limit: 10, mostRestrictive: { remaining: 9 } });
      expect(decision.buckets.map(({ remaining }) => remaining)).toEqual([9, 499]);
    },
  );

  it("drops fields of an older layout when it writes", async () => {
    const { check, key } = limiterForTest();
    await redis().hset(key("caller"), { tokens: 5, ts: T0, calls: "x".repeat(2000), "tokens:5000": 3 });
    await check(1, T0);
    const { c: _records, ...bucket } = splitCallers(
      await redis().hgetall<Record<string, unknown>>(key("caller")),
    );
    expect(bucket).toEqual({ tokens: 4, ts: T0, out: 0, out_until: 0, expires: T0 + 30_000 });
  });
});

describe("a retried call", () => {
  const ROOMY = "1000:100000";
  /** The script called as the limiter calls it, by the caller and call of the test's choosing. */
  function scriptCall(prefix: string, identifier: string) {
    const bucket = `${prefix}:${tier.name}:${identifier}`;
    // Each element as text: the test client reads "1" back as a number.
    return async (caller: string, serial: string, retry: 0 | 1, costs: number[], nowMs = T0) =>
      (
        await redis().eval<string[], unknown[]>(
          TOKEN_BUCKET_SCRIPT,
          [bucket, recordKey(prefix, `${caller}-${serial}`), recordKey(prefix, `${caller}-${serial}`)],
          [nowMs, retry, 2000, ROOMY, 0, 0, 0, 0, 0, caller, serial, "", ...costs].map(String),
        )
      ).map(String);
  }

  it("gets its first answer, charged once, however many other callers wrote the bucket meanwhile", async () => {
    const prefix = unique("retry");
    const call = scriptCall(prefix, "caller");
    const first = await call("a", "1", 0, [3]);
    // 40 admissions by 40 other isolates within the retry's time: more than the hash keeps fields for.
    for (let i = 1; i <= 40; i++) await call(`b${i}`, "1", 0, [1], T0 + i * 10);
    const retried = await call("a", "1", 1, [3]);
    expect(first).toEqual(["1", "1000", `${T0}`, ROOMY, "0", "0", "0"]);
    // The first outcome again, with the buckets as they are now: nothing taken a second time.
    // 1000 - 3 - 40 taken, + 4 refilled over the 400 ms (a token every 100 ms); the retry took nothing.
    expect(retried[0]).toBe("1");
    expect(Number(retried[1])).toBeCloseTo(961, 9);
    expect(retried[6]).toBe("1");
    const hash = (await redis().hgetall<Record<string, string>>(`${prefix}:${tier.name}:caller`)) ?? {};
    expect(Number(hash.tokens)).toBeCloseTo(961, 9);
    // The callers past the hash's few fields left their records in keys of their own, which expire.
    expect(Object.keys(hash).filter((field) => field.startsWith("c:")).length).toBeLessThanOrEqual(7);
    expect((await redis().keys(`${prefix}/call/*`)).length).toBeGreaterThan(0);
  });

  it("finds its record in its caller's own field, which only that caller's next call rewrites", async () => {
    const prefix = unique("retry");
    const call = scriptCall(prefix, "caller");
    await call("a", "1", 0, [2]);
    await call("b", "1", 0, [5]);
    expect((await call("a", "1", 1, [2]))[6]).toBe("1");
    // The caller's next call keeps the one before it while fresh: an attempt that arrives late replays.
    await call("a", "2", 0, [1]);
    expect((await call("a", "1", 1, [2]))[6]).toBe("1");
    expect(await redis().keys(`${prefix}/call/*`)).toEqual([]);
    expect(Number(await redis().hget(`${prefix}:${tier.name}:caller`, "tokens"))).toBe(992);
  });

  it("is decided afresh when its first attempt never ran", async () => {
    const prefix = unique("retry");
    const call = scriptCall(prefix, "caller");
    expect(await call("a", "1", 1, [4])).toEqual(["1", "1000", `${T0}`, ROOMY, "0", "0", "0"]);
    expect(Number(await redis().hget(`${prefix}:${tier.name}:caller`, "tokens"))).toBe(996);
  });

  it("keeps a hot bucket's hash under 1 KB, whatever the load", async () => {
    const prefix = unique("hot");
    const partner: NamedTier = tierOf("partner", [20, 1], [1000, 60], [50_000, 3600], [1_000_000, 86_400]);
    const limiters = Array.from({ length: 4 }, () =>
      createLimiter(loadSettings(env), createLogger("ERROR"), { prefix }),
    );
    for (let round = 0; round < 50; round++) {
      await Promise.all(
        limiters.map((limiter, i) =>
          limiter.check({ identifier: "hot", tier: partner, cost: 1 }, { nowMs: T0 + round * 100 + i }),
        ),
      );
    }
    const key = `${prefix}:partner:hot`;
    const hash = await redis().hgetall<Record<string, string>>(key);
    const bytes = Object.entries(hash ?? {}).reduce(
      (sum, [field, value]) => sum + field.length + String(value).length,
      0,
    );
    expect(bytes).toBeLessThan(1024);
    // As Redis stores it: a listpack, every value within its 64-byte limit.
    expect(await redis().eval("return redis.call('OBJECT', 'ENCODING', KEYS[1])", [key], [])).toBe(
      "listpack",
    );
  });
});

describe("a cost above what an override leaves the identifier", () => {
  it("is refused as invalid input, since no wait would ever let it through", async () => {
    const { check, key } = limiterForTest();
    await redis().hset(key("caller"), { override: "5:10000" });
    await expect(check(8, T0)).rejects.toThrow(InvalidInputError);
    expect(await check(5, T0)).toMatchObject({ allowed: true, limit: 5, mostRestrictive: { remaining: 0 } });
    // A cached answer says the same.
    await expect(check(8, T0 + 10)).rejects.toThrow(/less than or equal to 5/);
  });
});

describe("a lease given back", () => {
  // 10 tokens over 100 s: a tenth of a token a second.
  const SLOW = "10:100000";
  /** The script as the limiter calls it: [now, settled, returned, ended, wanted, ...costs]. */
  function script(prefix: string) {
    const bucket = `${prefix}:slow:caller`;
    let calls = 0;
    const run = async (
      now: number,
      settled: number,
      returned: number,
      ended: number,
      wanted: number,
      costs: number[],
    ) =>
      (
        await redis().eval<string[], unknown[]>(
          TOKEN_BUCKET_SCRIPT,
          [bucket, recordKey(prefix, `c${++calls}`), recordKey(prefix, `c${calls}`)],
          [
            now,
            0,
            2000,
            SLOW,
            settled,
            returned,
            ended,
            wanted,
            60_000,
            "caller",
            String(calls),
            "",
            ...costs,
          ].map(String),
        )
      ).map(String);
    const stored = async () => {
      const { tokens, out } = (await redis().hgetall<Record<string, number>>(bucket)) ?? {};
      return { tokens: Math.round(Number(tokens) * 1e9) / 1e9, out: Number(out) };
    };
    return { run, stored };
  }

  it("comes back whole when timely, less the refill since the lease ended when late, and never above what is out", async () => {
    const { run, stored } = script(unique("give-back"));
    // Take 4, then lease 3 of the 6 left: 3 stay in Redis, 3 are out.
    expect(await run(T0, 0, 0, 0, 3, [4])).toEqual(["1", "10", `${T0}`, SLOW, "3", "0", "0"]);
    expect(await stored()).toMatchObject({ tokens: 3, out: 3 });

    // Given back 10 s after the lease ended: the bucket got 1 token of refill meanwhile, so 2 come back.
    await run(T0 + 11_000, 3, 3, T0 + 1000, 0, []);
    expect(await stored()).toMatchObject({ tokens: 3 + 1.1 + 2, out: 0 });

    // Lease again, and give back at once: all of it comes back.
    await run(T0 + 11_000, 0, 0, 0, 2, []);
    expect(await stored()).toMatchObject({ tokens: 6.1 - 2, out: 2 });
    await run(T0 + 11_000, 2, 2, T0 + 11_000, 0, []);
    expect(await stored()).toMatchObject({ tokens: 6.1, out: 0 });

    // Nothing is out now: a give-back adds nothing.
    await run(T0 + 11_000, 5, 5, T0 + 11_000, 0, []);
    expect((await stored()).tokens).toBe(6.1);
  });
});

describe("a call whose reply was lost", () => {
  const ROOMY = "1000:100000";
  /** The script as caller "a" calls it: its serial, what it settles and wants, the lost call it names. */
  function callerA(prefix: string) {
    const bucket = `${prefix}:lost:caller`;
    const run = async (
      serial: string,
      terms: { settled?: number; returned?: number; wanted?: number; lost?: string },
    ) =>
      (
        await redis().eval<string[], unknown[]>(
          TOKEN_BUCKET_SCRIPT,
          [bucket, recordKey(prefix, `a-${serial}`), recordKey(prefix, `a-${terms.lost ?? serial}`)],
          [
            T0,
            0,
            2000,
            ROOMY,
            terms.settled ?? 0,
            terms.returned ?? 0,
            T0,
            terms.wanted ?? 0,
            60_000,
            "a",
            serial,
            terms.lost ?? "",
            1,
          ].map(String),
        )
      ).map(String);
    const stored = async () => {
      const { tokens, out } = (await redis().hgetall<Record<string, number>>(bucket)) ?? {};
      return { tokens: Number(tokens), out: Number(out) };
    };
    return { run, stored };
  }

  it("gives back the lease it took, whole, when the next call names it", async () => {
    const { run, stored } = callerA(unique("lost"));
    // Call 1 takes a token and leases 100: its reply never arrives, so the isolate never grants them.
    await run("1", { wanted: 100 });
    expect(await stored()).toEqual({ tokens: 899, out: 100 });
    await run("2", { lost: "1" });
    expect(await stored()).toEqual({ tokens: 998, out: 0 });
  });

  it("settles in its place what it was to settle, when it never ran", async () => {
    const { run, stored } = callerA(unique("lost"));
    await run("1", { wanted: 10 });
    expect(await stored()).toEqual({ tokens: 989, out: 10 });
    // Call 2 was to settle call 1's lease, 4 tokens unspent, but never reached Redis; call 3 carries it.
    await run("3", { settled: 10, returned: 4, lost: "2" });
    expect(await stored()).toEqual({ tokens: 992, out: 0 });
  });
});
