/**
 * Issue 8 item 2: how many Redis commands one decision costs, from Redis's own INFO commandstats. Here and
 * not in the worker project: CONFIG RESETSTAT is global, and this project has a Redis of its own and runs
 * one test at a time.
 */
import { describe, expect, it } from "vitest";
import { redisCommand } from "./bucket.ts";
import { check, expectAdmitted, limiterEnv, unique, warmUp } from "./helpers.ts";

/** Runs `decide` between CONFIG RESETSTAT and INFO commandstats; the commands it cost Redis, by name. */
async function commandsDuring(decide: () => Promise<unknown>): Promise<Record<string, number>> {
  await redisCommand("CONFIG", "RESETSTAT");
  await decide();
  const info = String(await redisCommand("INFO", "commandstats"));
  const calls: Record<string, number> = {};
  for (const [, name, count] of info.matchAll(/^cmdstat_([\w|-]+):calls=(\d+)/gm)) {
    // CONFIG RESETSTAT (named `config|resetstat` by Redis 7) and INFO are the measurement's own.
    if (name !== undefined && !name.startsWith("config") && name !== "info") calls[name] = Number(count);
  }
  return calls;
}

const total = (calls: Record<string, number>) => Object.values(calls).reduce((sum, count) => sum + count, 0);

describe("Redis commands per decision", () => {
  it("costs 4 commands to admit the first request on a bucket, its record for retries in the same HSET", async () => {
    const limiter = limiterEnv("closed");
    await warmUp(limiter);
    const calls = await commandsDuring(async () => {
      expectAdmitted(await check(limiter, { identifier: unique("admit") }));
    });
    expect(calls, JSON.stringify(calls)).toEqual({ evalsha: 1, hgetall: 1, hset: 1, pexpire: 1 });
  });

  it("costs 3 commands to admit another request within the window: the key's expiry is set once a window", async () => {
    // Without leases: a second request makes the bucket busy, and the lease it takes is given back by a
    // call of its own at the lease's end.
    const limiter = limiterEnv("closed", { LEASE_MS: "0" });
    await warmUp(limiter);
    const identifier = unique("again");
    expectAdmitted(await check(limiter, { identifier }));
    const calls = await commandsDuring(async () => {
      expectAdmitted(await check(limiter, { identifier }));
    });
    expect(calls, JSON.stringify(calls)).toEqual({ evalsha: 1, hgetall: 1, hset: 1 });
  });

  it("costs at most 2 commands, and writes nothing, to deny a request", async () => {
    const identifier = unique("deny");
    const drainer = limiterEnv("closed");
    expectAdmitted(await check(drainer, { identifier, cost: 100 }));
    // A limiter that has not seen this bucket, so its deny cache cannot answer without Redis.
    const limiter = limiterEnv("closed");
    await warmUp(limiter);
    const calls = await commandsDuring(async () => {
      expect((await check(limiter, { identifier, cost: 100 })).status).toBe(429);
    });
    expect(total(calls), JSON.stringify(calls)).toBeLessThanOrEqual(2);
    expect(calls.hset ?? 0).toBe(0);
  });

  it("costs at most 2 commands, and writes nothing, to peek (cost 0)", async () => {
    const limiter = limiterEnv("closed");
    await warmUp(limiter);
    const calls = await commandsDuring(async () => {
      const answer = await check(limiter, { identifier: unique("peek"), cost: 0 });
      expect(answer.status).toBe(200);
    });
    expect(total(calls), JSON.stringify(calls)).toBeLessThanOrEqual(2);
    expect(calls.hset ?? 0).toBe(0);
  });
});
