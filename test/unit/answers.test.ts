import { describe, expect, it } from "vitest";
import { checkBody, limitedBody } from "../../src/http/answers.ts";
import { decisionFrom, degradedDecision, exemptDecision, shadowed } from "../../src/limiter/decision.ts";
import { parseLimits } from "../../src/limiter/script-reply.ts";

const T0 = 1_700_000_000_000;
const state = (tokens: number) => ({ limits: parseLimits("100:60000"), tokens: [tokens], timeMs: T0 });

describe("POST /check's bodies", () => {
  it("writes the original service's allowed body, byte for byte", () => {
    const allowed = decisionFrom(true, state(99), 1, T0, "redis");
    expect(JSON.stringify(checkBody(allowed))).toBe(
      '{"allowed":true,"tokens_remaining":99,"reset_at":1700000000.6,"limit":100,"retry_after":null}',
    );
  });

  it("writes the denial under detail, without the token count", () => {
    const denied = decisionFrom(false, state(0.5), 1, T0, "isolate");
    expect(JSON.stringify(limitedBody(checkBody(denied)))).toBe(
      '{"detail":{"allowed":false,"retry_after":1,"reset_at":1700000059.7,"limit":100}}',
    );
  });

  it("adds the marks that apply after the five figures, and nothing of how the limiter decided", () => {
    expect(JSON.stringify(checkBody(degradedDecision(100)))).toBe(
      '{"allowed":true,"tokens_remaining":null,"reset_at":null,"limit":100,"retry_after":null,"degraded":true}',
    );
    expect(JSON.stringify(checkBody(shadowed(exemptDecision(100, "isolate"))))).toBe(
      '{"allowed":true,"tokens_remaining":null,"reset_at":null,"limit":100,"retry_after":null,' +
        '"exempt":true,"shadow":true,"would_allow":true,"would_retry_after":null}',
    );
    expect(checkBody(shadowed(decisionFrom(false, state(0), 1, T0, "redis")))).toEqual({
      allowed: true,
      tokens_remaining: 0,
      reset_at: (T0 + 60_000) / 1000,
      limit: 100,
      retry_after: null,
      shadow: true,
      would_allow: false,
      would_retry_after: 1,
    });
  });
});
