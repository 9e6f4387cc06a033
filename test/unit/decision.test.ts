import { describe, expect, it } from "vitest";
import type { NamedTier } from "../../src/config/tiers.ts";
import { decisionFrom, decodeReply, MalformedReplyError } from "../../src/limiter/decision.ts";

const tier: NamedTier = { name: "t", limit: 10, window: 10 };
const T0 = 1_700_000_000_000;

describe("decoding the script's reply", () => {
  it("replays each cost of a batch from the exact tokens before it", () => {
    const outcome = decodeReply(["1101", "2.5", T0], [1, 1, 3, 0], tier);
    expect(outcome).toEqual([
      { allowed: true, after: { tokens: 1.5, timeMs: T0 } },
      { allowed: true, after: { tokens: 0.5, timeMs: T0 } },
      { allowed: false, after: { tokens: 0.5, timeMs: T0 } },
      { allowed: true, after: { tokens: 0.5, timeMs: T0 } },
    ]);
  });

  it("keeps every bit of a fractional count sent as %.17g text", () => {
    const [first] = decodeReply(["1", "3.3333333333333335", T0], [1], tier);
    expect(first?.after.tokens).toBe(10 / 3 - 1);
  });

  it.each([
    ["not an array", "garbage"],
    ["null", null],
    ["a wrong length", ["1", "2"]],
    ["flags that do not match the costs", ["11", "2", T0]],
    ["flags that are not 0/1", ["x", "2", T0]],
    ["tokens over the capacity", ["1", "11", T0]],
    ["tokens that are not a number", ["1", "NaN", T0]],
    ["a time that is not an integer", ["1", "2", "soon"]],
  ])("rejects a reply with %s", (_, reply) => {
    expect(() => decodeReply(reply, [1], tier)).toThrow(MalformedReplyError);
  });
});

describe("a decision's figures", () => {
  it("reports whole tokens left, the time the bucket is full, and whole seconds to wait", () => {
    expect(decisionFrom(false, { tokens: 0.5, timeMs: T0 }, tier, 3, T0 + 200)).toEqual({
      allowed: false,
      tokens_remaining: 0,
      reset_at: (T0 + 9500) / 1000,
      limit: 10,
      retry_after: 3,
    });
    expect(decisionFrom(true, { tokens: 9.25, timeMs: T0 }, tier, 1, T0)).toMatchObject({
      tokens_remaining: 9,
      retry_after: null,
    });
  });
});
