import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import type { GateLimiter } from "../../src/gate/middleware.ts";

// The limiter runs here as its own Worker, as deployed: every request to it is a request context of
// its own, and concurrent ones on a bucket share round trips across those contexts.
const limiter = env as unknown as { LIMITER_HTTP: Fetcher; RATE_LIMITER: Service & GateLimiter };

const unique = (label: string) => `${label}-${crypto.randomUUID()}`;

const check = (body: object) =>
  limiter.LIMITER_HTTP.fetch("http://limiter.test/check", {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify(body),
  });

describe("a burst of separate requests on one bucket, Redis healthy", () => {
  it("admits what the bucket holds over HTTP: no more, no 503, nothing degraded", async () => {
    const identifier = unique("burst");
    const started = Date.now();
    const responses = await Promise.all(Array.from({ length: 1000 }, () => check({ identifier, cost: 7 })));
    const elapsedS = (Date.now() - started) / 1000;
    const statuses = responses.map((response) => response.status);
    const admitted = statuses.filter((status) => status === 200).length;
    // free: 100 a minute; cost 7 fits 14 times, plus what refills while the burst is served.
    expect(admitted).toBeGreaterThanOrEqual(14);
    expect(admitted * 7).toBeLessThanOrEqual(100 + Math.ceil((elapsedS * 100) / 60));
    expect(statuses.filter((status) => status !== 200 && status !== 429)).toEqual([]);
  });

  it("admits what both buckets hold over RPC", async () => {
    const identifier = unique("burst");
    const results = await Promise.all(
      Array.from({ length: 500 }, () => limiter.RATE_LIMITER.check({ identifier, tier: "partner" })),
    );
    expect(results.filter((result) => !result.ok)).toEqual([]);
    const decisions = results.flatMap((result) => (result.ok ? [result.decision] : []));
    const admitted = decisions.filter((decision) => decision.allowed).length;
    expect(admitted).toBeGreaterThanOrEqual(20);
    expect(admitted).toBeLessThanOrEqual(30);
    expect(decisions.some((decision) => decision.degraded)).toBe(false);
  });
});
