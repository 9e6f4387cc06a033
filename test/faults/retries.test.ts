/** Issue 9 item 2: transient failures are retried with the same call, 4xx answers are not; never charged twice. */
import { describe, expect, it } from "vitest";
import { bucketKey, expectCharges, redisCommand, tokensTaken } from "./bucket.ts";
import {
  check,
  DEADLINE_MARGIN_MS,
  DEADLINE_MS,
  expectAdmitted,
  expectFailModeAnswer,
  expectServerError,
  FAIL_MODES,
  health,
  limiterEnv,
  unique,
  warmUp,
} from "./helpers.ts";
import { scriptCallsDuring, setFault } from "./proxy.ts";
import type { FaultAction } from "./support/faults.ts";

const COST = 20;

/** Faults of one reply, after which the endpoint behaves: a retry within the deadline decides. */
const TRANSIENT: { name: string; fault: FaultAction }[] = [
  { name: "the first reply is lost after Redis ran the script", fault: { type: "drop" } },
  { name: "the first answer is an HTML 502", fault: { type: "html-502" } },
  { name: "the first reply is truncated JSON", fault: { type: "truncate" } },
  { name: 'the first reply is {"result":null}', fault: { type: "replace", body: '{"result":null}' } },
];

describe.each(FAIL_MODES)("FAIL_MODE=%s", (failMode) => {
  for (const { name, fault } of TRANSIENT) {
    it(`retries and charges once when ${name}`, async () => {
      const limiter = limiterEnv(failMode);
      const identifier = unique("retry");
      await warmUp(limiter);
      const since = Date.now();
      await setFault({ ...fault, scope: "scripts", times: 1 });

      let answer: Awaited<ReturnType<typeof check>> | undefined;
      const calls = await scriptCallsDuring(async () => {
        answer = await check(limiter, { identifier, cost: COST });
      });

      expect(calls, "script calls for one decision").toBeGreaterThan(1);
      expectAdmitted(answer as NonNullable<typeof answer>);
      expectCharges(await tokensTaken(identifier, since), COST, { atLeast: 1, atMost: 1 });
    });
  }

  it("charges once when the first reply would come after the deadline", async () => {
    const limiter = limiterEnv(failMode);
    const identifier = unique("late");
    await warmUp(limiter);
    const since = Date.now();
    await setFault({ type: "delay", ms: 2000, scope: "scripts", times: 1 });

    const answer = await check(limiter, { identifier, cost: COST });

    // Redis ran the script at once; its reply is late. Whether the deadline leaves room for a retry (which
    // gets the first answer) is the core's business: either a decision or FAIL_MODE, charged once.
    if (answer.body.degraded === true || answer.status === 503) expectFailModeAnswer(answer, failMode);
    else expectAdmitted(answer);
    expect(answer.ms).toBeLessThan(DEADLINE_MS + DEADLINE_MARGIN_MS);
    expectCharges(await tokensTaken(identifier, since), COST, { atLeast: 1, atMost: 1 });
  });

  it("charges at most once when every reply is lost after Redis ran the script, retries included", async () => {
    const limiter = limiterEnv(failMode);
    const identifier = unique("lost");
    await warmUp(limiter);
    const since = Date.now();
    await setFault({ type: "drop", scope: "scripts" });

    let answer: Awaited<ReturnType<typeof check>> | undefined;
    const calls = await scriptCallsDuring(async () => {
      answer = await check(limiter, { identifier, cost: COST });
    });

    expectFailModeAnswer(answer as NonNullable<typeof answer>, failMode);
    expect(calls, "script calls for one decision").toBeGreaterThan(1);
    expectCharges(await tokensTaken(identifier, since), COST, { atLeast: 1, atMost: 1 });
  });

  it("answers 500, calling the endpoint once and no more, when it rejects the token", async () => {
    const limiter = limiterEnv(failMode, { UPSTASH_REDIS_REST_TOKEN: "not-the-token" });
    const identifier = unique("token");

    let answer: Awaited<ReturnType<typeof check>> | undefined;
    const calls = await scriptCallsDuring(async () => {
      answer = await check(limiter, { identifier });
    });

    expect(calls, "script calls for one decision").toBe(1);
    // A wrong token is a deployment to fix, not a Redis that is down: never an unchecked pass.
    expectServerError(answer as NonNullable<typeof answer>);
    expect(await redisCommand("EXISTS", bucketKey("free", identifier))).toBe(0);
  });

  it("answers 500, calling the script once and no more, when the bucket key holds the wrong type", async () => {
    const limiter = limiterEnv(failMode);
    const identifier = unique("wrongtype");
    await redisCommand("SET", bucketKey("free", identifier), "not a hash");
    await warmUp(limiter);

    let answer: Awaited<ReturnType<typeof check>> | undefined;
    const calls = await scriptCallsDuring(async () => {
      answer = await check(limiter, { identifier });
    });

    expect(calls, "script calls for one decision").toBe(1);
    expectServerError(answer as NonNullable<typeof answer>);
    expect(await redisCommand("GET", bucketKey("free", identifier))).toBe("not a hash");
  });

  it("answers 500, never by FAIL_MODE, and sends no retry, when a well-formed reply is impossible", async () => {
    const limiter = limiterEnv(failMode);
    const identifier = unique("impossible");
    await warmUp(limiter);
    // 500 tokens in a bucket of 100: well-formed, so not garbled on the way, yet no script of ours says it.
    const impossible = JSON.stringify({ result: ["1", "500", Date.now(), "100:60000", 0, 0, 0] });
    await setFault({ type: "replace", body: impossible, scope: "scripts" });

    for (let attempt = 0; attempt < 3; attempt++) {
      let answer: Awaited<ReturnType<typeof check>> | undefined;
      const calls = await scriptCallsDuring(async () => {
        answer = await check(limiter, { identifier });
      });
      expect(calls, "script calls for one decision").toBe(1);
      expectServerError(answer as NonNullable<typeof answer>);
    }
    // A bug is not a failing Redis: the breaker stays closed.
    expect((await health(limiter)).status).toBe(200);
  });
});
