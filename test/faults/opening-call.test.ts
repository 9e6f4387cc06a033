/**
 * Issue 16: a burst on an idle bucket, far from Redis. The bucket's first call opens, carrying nothing
 * of a lease, and the next request's call goes out beside it at once instead of waiting for its reply:
 * one round trip each, not two. Each request is charged once, and once both replies are in, whatever
 * order they came in, the isolate's figures are Redis's own. The rest of a burst that comes in the same
 * turn goes in the call beside it.
 */
import { describe, expect, it } from "vitest";
import type { NamedTier } from "../../src/config/tiers.ts";
import { createLimiter } from "../../src/limiter/limiter.ts";
import { createLogger } from "../../src/log.ts";
import { loadSettings } from "../../src/settings.ts";
import { bucketKey, redisCommand } from "./bucket.ts";
import { limiterEnv, unique } from "./helpers.ts";
import { proxyStats, setFault } from "./proxy.ts";

// 100 tokens a day: no refill worth a figure while the test runs.
const CAPACITY = 100;
const daily: NamedTier = {
  name: "daily",
  limits: [{ limit: CAPACITY, window: 86_400 }],
  mode: "enforce",
  lease: true,
};

/** How late the proxy answers a script call: far more than a round trip on loopback. */
const LATE_MS = 1000;

/**
 * A limiter whose deadline outlasts a late reply, with a lease that outlasts it too (so a test's last
 * request finds it), and Redis holding the script, so that its calls are one EVALSHA each.
 */
async function patientLimiter() {
  const limiter = createLimiter(
    loadSettings(
      limiterEnv("closed", { REDIS_TIMEOUT_MS: String(3 * LATE_MS), LEASE_MS: String(5 * LATE_MS) }),
    ),
    createLogger("ERROR"),
  );
  await limiter.check({ identifier: unique("warm-up"), tier: daily, cost: 1 });
  return limiter;
}

/** The daily bucket of `identifier` as Redis holds it: tokens taken by requests, and tokens out on lease. */
async function bucketNow(identifier: string) {
  const [tokens, out] = (await redisCommand("HMGET", bucketKey(daily.name, identifier), "tokens", "out")) as [
    string,
    string,
  ];
  return { charged: CAPACITY - Number(tokens) - Number(out), out: Number(out) };
}

describe("an opening call", () => {
  it("lets the next request on its bucket go to Redis beside it, and keeps the later buckets of the two", async () => {
    const limiter = await patientLimiter();
    const identifier = unique("opening");
    const ask = () => limiter.check({ identifier, tier: daily, cost: 1 });
    const settled: string[] = [];

    // Redis runs the opening call at once; the proxy holds its reply back.
    await setFault({ type: "delay", ms: LATE_MS, scope: "scripts", times: 1 });
    const opening = ask().finally(() => settled.push("opening"));
    await new Promise((resolve) => setTimeout(resolve, 50));
    const started = performance.now();
    const beside = await ask().finally(() => settled.push("beside"));
    const besideMs = performance.now() - started;
    const first = await opening;

    expect(settled).toEqual(["beside", "opening"]);
    expect(besideMs).toBeLessThan(LATE_MS / 2);
    // Both decided by Redis, in the order it ran them.
    expect(first).toMatchObject({ allowed: true, decidedBy: "redis", mostRestrictive: { remaining: 99 } });
    expect(beside).toMatchObject({ allowed: true, decidedBy: "redis", mostRestrictive: { remaining: 98 } });

    // Charged once each (the tokens the call beside it took on lease are held, `out`, not granted).
    const { charged, out } = await bucketNow(identifier);
    expect(charged).toBeCloseTo(2, 2);
    expect(out).toBeGreaterThan(0);

    // The opening call's reply, older but later to come, does not replace the buckets the call beside
    // it left: granted from its lease, the figures are Redis's with the lease back in, as ever.
    expect(await ask()).toMatchObject({
      allowed: true,
      decidedBy: "isolate",
      mostRestrictive: { remaining: 97 },
    });
  });

  it("takes the rest of a burst that comes in one turn into the call beside it: one round trip for all", async () => {
    const limiter = await patientLimiter();
    const identifier = unique("burst");
    const before = await proxyStats();

    // Every script call's reply comes a round trip of LATE_MS late.
    await setFault({ type: "delay", ms: LATE_MS, scope: "scripts" });
    const started = performance.now();
    const decisions = await Promise.all(
      Array.from({ length: 32 }, () => limiter.check({ identifier, tier: daily, cost: 1 })),
    );
    const elapsedMs = performance.now() - started;

    // Before, the call beside the opening one was sealed with one request in it and leased for the two
    // seen: the ten the lease could not hold waited for its reply, then for a call of their own.
    expect(elapsedMs).toBeLessThan(1.5 * LATE_MS);
    const after = await proxyStats();
    expect((after.commands.EVALSHA ?? 0) - (before.commands.EVALSHA ?? 0), "script calls").toBe(2);
    // In one pipeline, the opening call first: Redis runs them as the requests came.
    expect(after.scripts - before.scripts, "requests to the endpoint").toBe(1);
    expect(decisions.every((decision) => decision.allowed && decision.decidedBy === "redis")).toBe(true);
    // Decided as the requests came: 99 for the first, then down to 68.
    const remaining = decisions.map((decision) => decision.mostRestrictive?.remaining as number);
    expect(remaining).toEqual(Array.from({ length: 32 }, (_, i) => 99 - i));

    // Charged once each; what the call beside it leased is held (`out`), not granted.
    expect((await bucketNow(identifier)).charged).toBeCloseTo(32, 2);
  });
});
