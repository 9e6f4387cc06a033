import { describe, expect, it } from "vitest";
import { decisionFrom, degradedDecision, shadowed } from "../../src/limiter/decision.ts";
import { isTransient } from "../../src/limiter/redis-endpoint.ts";
import {
  decodeReply,
  ImpossibleReplyError,
  limitsText,
  MalformedReplyError,
  parseLimits,
} from "../../src/limiter/script-reply.ts";

const T0 = 1_700_000_000_000;

describe("decoding the script's reply", () => {
  /** A fresh call's reply: flags, counts before, time, limits, no lease. */
  const fresh = (flags: string, tokens: string, limits: string, lease = 0, others = 0) => [
    flags,
    tokens,
    T0,
    limits,
    lease,
    others,
    0,
  ];

  it("replays each cost of a batch from the exact tokens before it", () => {
    const { decisions } = decodeReply(fresh("1101", "2.5", "10:10000"), [1, 1, 3, 0]);
    expect(decisions.map(({ allowed, after }) => [allowed, after.tokens])).toEqual([
      [true, [1.5]],
      [true, [0.5]],
      [false, [0.5]],
      [true, [0.5]],
    ]);
    expect(decisions[0]?.after).toMatchObject({ timeMs: T0, limits: [{ limit: 10, windowMs: 10_000 }] });
  });

  it("takes each allowed cost from every bucket", () => {
    const { decisions } = decodeReply(fresh("1", "9,2", "10:10000,2:1000"), [2]);
    expect(decisions[0]?.after.tokens).toEqual([7, 0]);
  });

  it("keeps every bit of a fractional count sent as %.17g text", () => {
    const { decisions } = decodeReply(fresh("1", "3.3333333333333335", "10:10000"), [1]);
    expect(decisions[0]?.after.tokens).toEqual([10 / 3 - 1]);
  });

  it("reads an exempt identifier as having no bucket", () => {
    const { decisions } = decodeReply(fresh("1", "", "exempt"), [5]);
    expect(decisions[0]).toEqual({ allowed: true, after: { limits: [], tokens: [], timeMs: T0 } });
  });

  it("reports the lease with the state after the batch, the lease still in it", () => {
    const outcome = decodeReply(fresh("11", "100", "100:60000", 20, 7), [1, 1]);
    expect(outcome).toMatchObject({ lease: 20, others: 7, state: { tokens: [98] } });
  });

  it("reports a replayed call's requests with the buckets as they are now, taking nothing again", () => {
    const { decisions } = decodeReply(["10", "40", T0, "100:60000", 0, 0, 1], [5, 90]);
    expect(decisions.map(({ allowed, after }) => [allowed, after.tokens])).toEqual([
      [true, [40]],
      [false, [40]],
    ]);
  });

  it.each([
    ["not an array", "garbage"],
    ["null", null],
    ["a wrong length", ["1", "2", T0, "10:10000"]],
    ["flags that do not match the costs", fresh("11", "2", "10:10000")],
    ["flags that are not 0/1", fresh("x", "2", "10:10000")],
    ["limits that do not parse", fresh("1", "2", "ten")],
    ["a time that is not an integer", ["1", "2", "soon", "10:10000", 0, 0, 0]],
    ["a negative lease", fresh("1", "2", "10:10000", -1)],
    ["a replay flag that is not 0 or 1", ["1", "2", T0, "10:10000", 0, 0, 2]],
  ])("rejects a reply with %s as garbled", (_, reply) => {
    expect(() => decodeReply(reply, [1])).toThrow(MalformedReplyError);
  });

  it.each([
    ["tokens over the capacity", fresh("1", "11", "10:10000")],
    ["tokens that are not a number", fresh("1", "NaN", "10:10000")],
    ["fewer counts than buckets", fresh("1", "2", "10:10000,2:1000")],
  ])("rejects a well-formed reply with %s as impossible, which no retry can mend", (_, reply) => {
    expect(() => decodeReply(reply, [1])).toThrow(ImpossibleReplyError);
    expect(isTransient(new ImpossibleReplyError("x"))).toBe(false);
  });

  it("writes limits in the script's form and reads them back", () => {
    const text = limitsText([
      { limit: 20, window: 1 },
      { limit: 1000, window: 60 },
      { limit: 5, window: 0.5 },
    ]);
    expect(text).toBe("20:1000,1000:60000,5:500");
    expect(parseLimits(text)).toEqual([
      { limit: 20, windowMs: 1000 },
      { limit: 1000, windowMs: 60_000 },
      { limit: 5, windowMs: 500 },
    ]);
  });
});

describe("a decision's figures", () => {
  const one = parseLimits("10:10000");

  it("reports whole tokens left, the time the bucket is full, and whole seconds to wait", () => {
    const denied = decisionFrom(false, { limits: one, tokens: [0.5], timeMs: T0 }, 3, T0 + 200, "redis");
    expect(denied).toMatchObject({
      allowed: false,
      retryAfter: 3,
      limit: 10,
      mostRestrictive: { remaining: 0, resetAt: (T0 + 9500) / 1000 },
    });
    expect(decisionFrom(true, { limits: one, tokens: [9.25], timeMs: T0 }, 1, T0, "redis")).toMatchObject({
      retryAfter: null,
      mostRestrictive: { remaining: 9 },
    });
  });

  it("reports the most restrictive of several buckets, and every bucket for the headers", () => {
    const limits = parseLimits("1000:60000,20:1000");
    const allowed = decisionFrom(true, { limits, tokens: [990, 5], timeMs: T0 }, 1, T0, "redis");
    expect(allowed).toMatchObject({ limit: 20, mostRestrictive: { remaining: 5, window: 1 } });
    expect(allowed.buckets).toEqual([
      { limit: 1000, window: 60, remaining: 990, resetAt: (T0 + 600) / 1000 },
      { limit: 20, window: 1, remaining: 5, resetAt: (T0 + 750) / 1000 },
    ]);
    const slow = parseLimits("10:60000,20:1000");
    const denied = decisionFrom(false, { limits: slow, tokens: [0, 0], timeMs: T0 }, 1, T0, "redis");
    // The sustained bucket needs 6 s for a token; the burst bucket only 50 ms.
    expect(denied).toMatchObject({ limit: 10, retryAfter: 6, mostRestrictive: { remaining: 0, window: 60 } });
  });

  it("says who decided", () => {
    const state = { limits: one, tokens: [5], timeMs: T0 };
    expect(decisionFrom(true, state, 1, T0, "isolate").decidedBy).toBe("isolate");
    expect(degradedDecision(10)).toEqual({
      allowed: true,
      retryAfter: null,
      decidedBy: "fail-open",
      limit: 10,
      buckets: [],
    });
  });

  it("lets a shadow tier's request through, with the decision it would have made", () => {
    const denied = decisionFrom(false, { limits: one, tokens: [0], timeMs: T0 }, 1, T0, "redis");
    expect(shadowed(denied)).toMatchObject({
      allowed: true,
      retryAfter: null,
      mostRestrictive: { remaining: 0 },
      shadow: { wouldAllow: false, wouldRetryAfter: 1 },
    });
  });
});
