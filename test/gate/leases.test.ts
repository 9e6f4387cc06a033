import { env } from "cloudflare:workers";
import { Redis } from "@upstash/redis/cloudflare";
import { describe, expect, it } from "vitest";
import { TEST_LEASE_MS } from "./lease-ms.ts";

// Two deployments of the limiter Worker, so two isolates, each with its own leases, on the same Redis.
const bound = env as unknown as { LIMITER_LEASE_A: Fetcher; LIMITER_LEASE_B: Fetcher };
const redis = new Redis({
  url: env.UPSTASH_REDIS_REST_URL,
  token: env.UPSTASH_REDIS_REST_TOKEN,
  enableTelemetry: false,
});

/** Sends `count` checks one after another to one isolate; how many it admitted. */
async function admitted(worker: Fetcher, identifier: string, count: number): Promise<number> {
  let allowed = 0;
  for (let i = 0; i < count; i++) {
    const response = await worker.fetch("http://limiter.test/check", {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ identifier, tier: "free" }),
    });
    expect([200, 429]).toContain(response.status);
    if (response.status === 200) allowed++;
  }
  return allowed;
}

describe("leases across two isolates", () => {
  it("never admit more than the bucket holds, and what one gives back the other can take", async () => {
    const identifier = `leases-${crypto.randomUUID()}`;
    // 20 tokens a day for this identifier: almost no refill during the test (0.0002 tokens a second).
    await redis.hset(`ratelimit:free:${identifier}`, { override: "20:86400000" });

    // A is busy on the bucket: after its first requests it takes tokens on lease and grants them itself.
    const byA = await admitted(bound.LIMITER_LEASE_A, identifier, 8);
    const leased = Number(await redis.hget(`ratelimit:free:${identifier}`, "out"));
    expect(byA).toBe(8);
    expect(leased).toBeGreaterThan(0);

    // B takes what is left in Redis, and no more: A's lease is out of the bucket.
    const byB = await admitted(bound.LIMITER_LEASE_B, identifier, 30);
    const unspent = 20 - byA - byB;
    expect(unspent).toBeGreaterThan(0);
    expect(unspent).toBeLessThanOrEqual(leased);

    // A's lease ends, A gives back what it did not grant, and B can take exactly that.
    await new Promise((resolve) => setTimeout(resolve, TEST_LEASE_MS));
    // The give-back goes out when the lease ends, off the request path: wait for it, on a busy machine too.
    const until = Date.now() + 10_000;
    while (Number(await redis.hget(`ratelimit:free:${identifier}`, "out")) !== 0 && Date.now() < until) {
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    expect(Number(await redis.hget(`ratelimit:free:${identifier}`, "out"))).toBe(0);
    expect(await admitted(bound.LIMITER_LEASE_B, identifier, 30)).toBe(unspent);
    // Never above the capacity, all told.
    expect(await admitted(bound.LIMITER_LEASE_A, identifier, 5)).toBe(0);
  });
});
