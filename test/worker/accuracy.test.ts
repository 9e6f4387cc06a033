import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import type { NamedTier } from "../../src/config/tiers.ts";
import { createLimiter } from "../../src/limiter/limiter.ts";
import { createLogger } from "../../src/log.ts";
import { loadSettings } from "../../src/settings.ts";
import { redis, unique } from "./helpers.ts";

// A bucket of 10 tokens refilled over 10 s: one token a second, easy to reason about.
const tier: NamedTier = { name: "test", limits: [{ limit: 10, window: 10 }], mode: "enforce" };
const T0 = 1_700_000_000_000;

/** A limiter on its own key prefix, so each test owns its buckets. */
function limiterForTest() {
  const prefix = unique("accuracy");
  const limiter = createLimiter(loadSettings(env), createLogger("ERROR"), { prefix });
  return {
    key: (identifier: string) => `${prefix}:${tier.name}:${identifier}`,
    check: (cost: number, nowMs: number, identifier = "caller") =>
      limiter.check({ identifier, tier, cost }, nowMs),
  };
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
    expect((await check(0, T0 + 500)).tokens_remaining).toBe(0);
    expect((await check(0, T0 + 1500)).tokens_remaining).toBe(1);
    // 2.5 tokens are there at +2.5 s: two can be taken, leaving the half that made 3 whole at +3 s.
    expect((await check(2, T0 + 2500)).allowed).toBe(true);
    expect((await check(1, T0 + 2999)).allowed).toBe(false);
    expect((await check(1, T0 + 3000)).allowed).toBe(true);
  });

  it("never refills past the capacity", async () => {
    const { check } = limiterForTest();
    await check(1, T0);
    const decision = await check(0, T0 + 3_600_000);
    expect(decision.tokens_remaining).toBe(10);
    expect(decision.reset_at).toBe((T0 + 3_600_000) / 1000);
  });

  it("takes cost tokens at once", async () => {
    const { check } = limiterForTest();
    expect(await check(7, T0)).toMatchObject({ allowed: true, tokens_remaining: 3 });
    expect((await check(3, T0)).tokens_remaining).toBe(0);
  });

  it("peeks without taking anything when cost is 0", async () => {
    const { check } = limiterForTest();
    await check(4, T0);
    expect(await check(0, T0)).toMatchObject({ allowed: true, tokens_remaining: 6 });
    expect(await check(0, T0)).toMatchObject({ allowed: true, tokens_remaining: 6 });
  });

  it("denies without consuming when cost exceeds what is left", async () => {
    const { check } = limiterForTest();
    await check(8, T0);
    const denied = await check(5, T0);
    expect(denied).toMatchObject({ allowed: false, tokens_remaining: 2, retry_after: 3 });
    expect(await check(2, T0)).toMatchObject({ allowed: true, tokens_remaining: 0 });
  });

  it("gives retry_after as whole seconds until cost tokens are there, at least 1", async () => {
    const { check } = limiterForTest();
    await check(10, T0);
    expect((await check(1, T0)).retry_after).toBe(1);
    expect((await check(1, T0 + 900)).retry_after).toBe(1);
    expect((await check(4, T0)).retry_after).toBe(4);
    expect((await check(4, T0 + 100)).retry_after).toBe(4);
  });

  it("reports reset_at as the moment the bucket is full again, in seconds with ms precision", async () => {
    const { check } = limiterForTest();
    const decision = await check(3, T0 + 123);
    expect(decision.reset_at).toBe((T0 + 123 + 3000) / 1000);
  });

  it("never lets a lagging clock take the bucket's time backwards", async () => {
    const { check } = limiterForTest();
    await check(10, T0 + 5000);
    // A caller whose clock is 5 s behind gets no refill for those 5 s, and waits from the bucket's time.
    const lagging = await check(1, T0);
    expect(lagging).toMatchObject({ allowed: false, tokens_remaining: 0, retry_after: 6 });
    expect(lagging.reset_at).toBe((T0 + 15_000) / 1000);
    expect((await check(1, T0 + 6000)).allowed).toBe(true);
  });

  it("sets a positive TTL of twice the window on every write", async () => {
    const { check, key } = limiterForTest();
    await check(1, Date.now());
    const ttl = await redis().pttl(key("caller"));
    expect(ttl).toBeGreaterThan(19_000);
    expect(ttl).toBeLessThanOrEqual(20_000);
    await check(0, Date.now());
    expect(await redis().pttl(key("caller"))).toBeGreaterThan(19_000);
  });

  it("keeps one hash per bucket with the tokens, the last refill time and the call that wrote it", async () => {
    const { check, key } = limiterForTest();
    await check(3, T0);
    const bucket = await redis().hgetall<Record<string, unknown>>(key("caller"));
    expect(bucket).toMatchObject({ tokens: 7, ts: T0 });
    // <call id>/<limits>/<tokens before>/<bucket time>/<one flag per request>, for a retry of that call.
    expect(String(bucket?.calls)).toMatch(new RegExp(`^[0-9a-f]{17,}/10:10000/10/${T0}/1$`));
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
