/**
 * The bench's ceilings (scripts/bench/peers) claim to answer exactly as this Worker does, with nothing
 * else to do: same statuses, same header names, same body keys. If the Worker's answer changes, the
 * references must change with it, or the ceilings stop meaning anything.
 */
import { describe, expect, it } from "vitest";
import { specAnswer } from "../../scripts/bench/peers/spec-answer.ts";
import { checkBody, limitedBody } from "../../src/http/answers.ts";
import { rateLimitHeaders } from "../../src/http/rate-limit-headers.ts";
import { decisionFrom } from "../../src/limiter/decision.ts";
import { parseLimits } from "../../src/limiter/script-reply.ts";

const bucket = { name: "free", limit: 100, window: 60 };
const nowMs = 1_700_000_000_000;
const state = (tokens: number) => ({ limits: parseLimits("100:60000"), tokens: [tokens], timeMs: nowMs });

/** This Worker's body for a decision, and the header names it answers with (see src/http/check-route.ts). */
function workerAnswer(allowed: boolean, tokensBefore: number) {
  const decision = decisionFrom(allowed, state(tokensBefore), 1, nowMs, "redis");
  const body = checkBody(decision);
  const headers = {
    ...rateLimitHeaders(body, decision.buckets, bucket.name, nowMs),
    "content-type": "application/json",
  };
  return {
    body,
    headerNames: Object.keys(headers)
      .map((key) => key.toLowerCase())
      .sort(),
  };
}

describe("the bench's SPEC answer", () => {
  it("denies with this Worker's status, header names and body keys", async () => {
    const answer = specAnswer(bucket, false, 0.4);
    const ours = workerAnswer(false, 0.4);
    expect(answer.status).toBe(429);
    expect([...answer.headers.keys()].sort()).toEqual(ours.headerNames);
    const body = (await answer.json()) as { detail: object };
    expect(Object.keys(body.detail).sort()).toEqual(Object.keys(limitedBody(ours.body).detail).sort());
    expect(answer.headers.get("retry-after")).toBe("1");
  });

  it("allows with this Worker's status, header names and body keys", async () => {
    const answer = specAnswer(bucket, true, 41);
    const ours = workerAnswer(true, 42);
    expect(answer.status).toBe(200);
    expect([...answer.headers.keys()].sort()).toEqual(ours.headerNames);
    expect(Object.keys((await answer.json()) as object).sort()).toEqual(Object.keys(ours.body).sort());
    expect(answer.headers.get("ratelimit-remaining")).toBe("41");
  });
});
