import { exports } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { postCheck, unique } from "./helpers.ts";

// The original Python service's eight tests, in the same order, and the headers it lacked.
describe("the original service's behaviour", () => {
  it("reports healthy with Redis connected", async () => {
    const response = await exports.default.fetch("http://limiter.test/health");
    expect(response.status).toBe(200);
    expect(await response.json()).toEqual({ status: "ok", redis: "connected" });
  });

  it("allows the first request with 99 tokens left", async () => {
    const response = await postCheck({ identifier: unique("first"), tier: "free" });
    expect(response.status).toBe(200);
    const body = await response.json();
    expect(body).toMatchObject({ allowed: true, tokens_remaining: 99, limit: 100, retry_after: null });
    expect(body).not.toHaveProperty("degraded");
  });

  it("decrements the tokens with each request", async () => {
    const identifier = unique("decrement");
    const remaining = [];
    for (let i = 0; i < 3; i++) {
      const body = await (await postCheck({ identifier, tier: "free" })).json<{ tokens_remaining: number }>();
      remaining.push(body.tokens_remaining);
    }
    expect(remaining).toEqual([99, 98, 97]);
  });

  it("uses the free tier when none is given", async () => {
    const body = await (await postCheck({ identifier: unique("default") })).json();
    expect(body).toMatchObject({ allowed: true, limit: 100, tokens_remaining: 99 });
  });

  it("rejects an unknown tier with 400", async () => {
    const response = await postCheck({ identifier: unique("gold"), tier: "gold" });
    expect(response.status).toBe(400);
    expect(await response.json()).toEqual({ detail: "Invalid tier: gold" });
  });

  it("answers 429 with Retry-After once the bucket is spent", async () => {
    const identifier = unique("spent");
    expect((await postCheck({ identifier, cost: 100 })).status).toBe(200);
    const response = await postCheck({ identifier });
    expect(response.status).toBe(429);
    const body = await response.json<{ detail: { retry_after: number; reset_at: number } }>();
    expect(body.detail).toMatchObject({ allowed: false, limit: 100 });
    expect(body.detail.retry_after).toBeGreaterThanOrEqual(1);
    expect(response.headers.get("Retry-After")).toBe(String(body.detail.retry_after));
    expect(body.detail.reset_at).toBeGreaterThan(Date.now() / 1000);
  });

  it("keeps identifiers independent", async () => {
    const spent = unique("spent");
    await postCheck({ identifier: spent, cost: 100 });
    expect((await postCheck({ identifier: spent })).status).toBe(429);
    const body = await (await postCheck({ identifier: unique("fresh") })).json();
    expect(body).toMatchObject({ allowed: true, tokens_remaining: 99 });
  });

  it("gives the pro tier a limit of 1000", async () => {
    const body = await (await postCheck({ identifier: unique("pro"), tier: "pro" })).json();
    expect(body).toMatchObject({ allowed: true, limit: 1000, tokens_remaining: 999 });
  });
});

describe("rate-limit headers", () => {
  it("sets the IETF pair and the older triple on an allowed answer", async () => {
    const response = await postCheck({ identifier: unique("headers"), tier: "free", cost: 10 });
    expect(response.headers.get("RateLimit-Policy")).toBe('"free";q=100;w=60');
    expect(response.headers.get("RateLimit")).toBe('"free";r=90;t=6');
    expect(response.headers.get("RateLimit-Limit")).toBe("100");
    expect(response.headers.get("RateLimit-Remaining")).toBe("90");
    expect(response.headers.get("RateLimit-Reset")).toBe("6");
    expect(response.headers.has("Retry-After")).toBe(false);
  });

  it("sets them on a denial too, with Retry-After", async () => {
    const identifier = unique("denied-headers");
    await postCheck({ identifier, cost: 100 });
    const response = await postCheck({ identifier, cost: 3 });
    expect(response.status).toBe(429);
    expect(response.headers.get("RateLimit-Remaining")).toBe("0");
    expect(response.headers.get("RateLimit")).toMatch(/^"free";r=0;t=(59|60)$/);
    expect(response.headers.get("Retry-After")).toMatch(/^[12]$/);
  });

  it("never echoes the identifier", async () => {
    const identifier = unique("secret-identifier");
    const response = await postCheck({ identifier });
    for (const [, value] of response.headers) expect(value).not.toContain(identifier);
  });

  it("reports reset_at as the time the bucket is full again", async () => {
    const before = Date.now() / 1000;
    const body = await (await postCheck({ identifier: unique("reset"), cost: 1 })).json<{
      reset_at: number;
    }>();
    // One token of a 100-per-60s bucket comes back in 0.6 s.
    expect(body.reset_at).toBeGreaterThanOrEqual(before + 0.6 - 0.001);
    expect(body.reset_at).toBeLessThan(before + 0.6 + 1);
  });
});
