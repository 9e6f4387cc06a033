import { describe, expect, it } from "vitest";
import { checkBody } from "../../src/http/answers.ts";
import { rateLimitHeaders } from "../../src/http/rate-limit-headers.ts";
import { type Decision, decisionFrom, degradedDecision } from "../../src/limiter/decision.ts";
import { parseLimits } from "../../src/limiter/script-reply.ts";

const T0 = 1_700_000_000_000;

/** The headers `POST /check` answers a decision with. */
const headersOf = (decision: Decision, tierName: string, nowMs: number) =>
  rateLimitHeaders(checkBody(decision), decision.buckets, tierName, nowMs);

describe("rate-limit headers", () => {
  it("gives one bucket the tier's name, and whole seconds until it is full", () => {
    const decision = decisionFrom(
      true,
      { limits: parseLimits("100:60000"), tokens: [99], timeMs: T0 },
      1,
      T0,
      "redis",
    );
    expect(headersOf(decision, "free", T0)).toEqual({
      "RateLimit-Policy": '"free";q=100;w=60',
      RateLimit: '"free";r=99;t=1',
      "RateLimit-Limit": "100",
      "RateLimit-Remaining": "99",
      "RateLimit-Reset": "1",
    });
  });

  it("lists every bucket of a tier by its window, and the most restrictive in the older triple", () => {
    const limits = parseLimits("20:1000,1000:60000");
    const decision = decisionFrom(false, { limits, tokens: [0.5, 900], timeMs: T0 }, 1, T0, "redis");
    expect(headersOf(decision, "partner", T0 + 10)).toEqual({
      "RateLimit-Policy": '"partner-1s";q=20;w=1, "partner-60s";q=1000;w=60',
      RateLimit: '"partner-1s";r=0;t=1, "partner-60s";r=900;t=6',
      "RateLimit-Limit": "20",
      "RateLimit-Remaining": "0",
      "RateLimit-Reset": "1",
      "Retry-After": "1",
    });
  });

  it("counts seconds from the caller's clock, never below zero", () => {
    const state = { limits: parseLimits("10:10000"), tokens: [10], timeMs: T0 };
    const decision = decisionFrom(true, state, 0, T0, "redis");
    expect(headersOf(decision, "t", T0 + 5000)["RateLimit-Reset"]).toBe("0");
  });

  it("sends none for a degraded decision, which knows no bucket", () => {
    expect(headersOf(degradedDecision(100), "free", T0)).toEqual({});
  });
});
