import { createExecutionContext, waitOnExecutionContext } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { type NamedTier, resolveTier } from "../../src/config/tiers.ts";
import worker from "../../src/index.ts";
import { createLimiter } from "../../src/limiter/limiter.ts";
import { createLogger } from "../../src/log.ts";
import { loadSettings } from "../../src/settings.ts";
import { checkRequest, fetchWith, postCheck, redis, unique } from "./helpers.ts";

const T0 = 1_700_000_000_000;

// config.yaml: partner = 20 a second and 1000 a minute; trial = 10 a minute, shadow mode.

describe("a tier with several limits", () => {
  it("admits exactly what both buckets allow under 500 concurrent requests", async () => {
    const limiter = createLimiter(loadSettings(env), createLogger("ERROR"), { prefix: unique("partner") });
    const tier = resolveTier("partner") as NamedTier;
    const decisions = await Promise.all(
      Array.from({ length: 500 }, () => limiter.check({ identifier: "p", tier, cost: 1 }, { nowMs: T0 })),
    );
    expect(decisions.filter((d) => d.allowed)).toHaveLength(20);
    // 40 more a second later: the burst bucket is full again, the sustained one has 960 left.
    const later = await Promise.all(
      Array.from({ length: 500 }, () =>
        limiter.check({ identifier: "p", tier, cost: 2 }, { nowMs: T0 + 1000 }),
      ),
    );
    expect(later.filter((d) => d.allowed)).toHaveLength(10);
    expect(later.at(-1)).toMatchObject({ allowed: false, limit: 20 });
  });

  it("reports the most restrictive bucket in the body, and every bucket in the headers", async () => {
    const identifier = unique("partner");
    const response = await postCheck({ identifier, tier: "partner", cost: 5 });
    expect(await response.json()).toMatchObject({ allowed: true, tokens_remaining: 15, limit: 20 });
    expect(response.headers.get("RateLimit-Policy")).toBe('"partner-1s";q=20;w=1, "partner-60s";q=1000;w=60');
    expect(response.headers.get("RateLimit")).toMatch(/^"partner-1s";r=15;t=1, "partner-60s";r=995;t=\d+$/);
    expect(response.headers.get("RateLimit-Limit")).toBe("20");
    expect(response.headers.get("RateLimit-Remaining")).toBe("15");
  });

  it("takes from no bucket when one of them is short", async () => {
    const identifier = unique("partner");
    await postCheck({ identifier, tier: "partner", cost: 20 });
    // A full burst again needs a second, whatever the clock did between the two requests.
    const denied = await postCheck({ identifier, tier: "partner", cost: 20 });
    expect(denied.status).toBe(429);
    expect(await denied.json()).toMatchObject({ detail: { allowed: false, limit: 20, retry_after: 1 } });
    const bucket = await redis().hgetall<Record<string, number>>(`ratelimit:partner:${identifier}`);
    expect(bucket?.["tokens:60000"]).toBe(980);
  });

  it("rejects a cost above its smallest bucket", async () => {
    const response = await postCheck({ identifier: "x", tier: "partner", cost: 21 });
    expect(response.status).toBe(422);
    expect(await response.json()).toEqual({
      detail: [
        { loc: ["body", "cost"], msg: "Input should be less than or equal to 20", type: "less_than_equal" },
      ],
    });
  });
});

describe("a shadow tier", () => {
  it("lets every request through, marked with what it would have decided, and counts as usual", async () => {
    const identifier = unique("trial");
    // One isolate's requests, one after another, all in this test's request: a lease's renewal goes
    // out after a request is answered, and requests to this Worker's own default export (postCheck)
    // cannot wait on work of another request there, a limit of the vitest runner (cross-request
    // promises; workerd itself allows it, test/gate/burst.test.ts).
    const shared = { ...env };
    const ctx = createExecutionContext();
    const bodies: Array<Record<string, unknown>> = [];
    for (let i = 0; i < 12; i++) {
      const response = await worker.fetch(checkRequest({ identifier, tier: "trial" }), shared, ctx);
      expect(response.status).toBe(200);
      expect(response.headers.has("Retry-After")).toBe(false);
      bodies.push(await response.json());
    }
    expect(bodies.filter((body) => body.would_allow === true)).toHaveLength(10);
    const refused = bodies.filter((body) => body.would_allow === false);
    expect(refused).toHaveLength(2);
    expect(refused[0]).toMatchObject({ allowed: true, shadow: true, tokens_remaining: 0, retry_after: null });
    expect(refused[0]?.would_retry_after).toBeGreaterThanOrEqual(1);
    await waitOnExecutionContext(ctx);
    const bucket = await redis().hgetall<Record<string, number>>(`ratelimit:trial:${identifier}`);
    expect(Number(bucket?.tokens)).toBeLessThan(1);
  });

  it("leaves the answers of other tiers as they were", async () => {
    const response = await fetchWith({}, checkRequest({ identifier: unique("free") }));
    const body = await response.json<Record<string, unknown>>();
    expect(Object.keys(body).sort()).toEqual([
      "allowed",
      "limit",
      "reset_at",
      "retry_after",
      "tokens_remaining",
    ]);
  });
});
