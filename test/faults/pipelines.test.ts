/**
 * Script calls made in one turn, for different buckets, go to the endpoint as one `/pipeline` request
 * (pipelining.ts): one request for many decisions, and each decision as exact, as bounded by its
 * deadline and as charged once as it is alone.
 */
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
  FREE,
  limiterEnv,
  unique,
  warmUp,
} from "./helpers.ts";
import { proxyStats, setFault } from "./proxy.ts";

const COST = 20;
/** Simultaneous requests, each on a bucket of its own. */
const REQUESTS = 16;

/** `REQUESTS` simultaneous checks on buckets of their own, with what the endpoint received meanwhile. */
async function simultaneousChecks(limiter: Env, label: string) {
  const identifiers = Array.from({ length: REQUESTS }, () => unique(label));
  const before = await proxyStats();
  const answers = await Promise.all(
    identifiers.map((identifier) => check(limiter, { identifier, cost: COST })),
  );
  const after = await proxyStats();
  return {
    identifiers,
    answers,
    requests: after.all - before.all,
    evalshas: (after.commands.EVALSHA ?? 0) - (before.commands.EVALSHA ?? 0),
  };
}

describe("pipelines", () => {
  it("decides simultaneous requests on different buckets with fewer requests to the endpoint than decisions", async () => {
    const limiter = limiterEnv("closed");
    await warmUp(limiter);
    const since = Date.now();

    const { identifiers, answers, requests, evalshas } = await simultaneousChecks(limiter, "together");

    expect(evalshas, "one EVALSHA per decision").toBe(REQUESTS);
    expect(requests, "requests to the endpoint").toBeLessThan(REQUESTS / 2);
    for (const answer of answers) {
      expectAdmitted(answer);
      expect(answer.body.tokens_remaining).toBe(FREE.limit - COST);
    }
    for (const identifier of identifiers) {
      expectCharges(await tokensTaken(identifier, since), COST, { atLeast: 1, atMost: 1 });
    }
  });

  for (const fault of [
    { name: "a pipeline's reply is lost after Redis ran it", action: { type: "drop" } },
    {
      name: "a pipeline's reply has one slot for many calls",
      action: { type: "replace", body: '[{"result":null}]' },
    },
    { name: "a pipeline's reply is one command's", action: { type: "replace", body: '{"result":["1"]}' } },
  ] as const) {
    it(`retries every call and charges each bucket once when ${fault.name}`, async () => {
      const limiter = limiterEnv("closed");
      await warmUp(limiter);
      const since = Date.now();
      await setFault({ ...fault.action, scope: "scripts", times: 1 });

      const { identifiers, answers } = await simultaneousChecks(limiter, "retried");

      for (const answer of answers) expectAdmitted(answer);
      for (const identifier of identifiers) {
        expectCharges(await tokensTaken(identifier, since), COST, { atLeast: 1, atMost: 1 });
      }
    });
  }

  for (const failMode of FAIL_MODES) {
    it(`answers every call per FAIL_MODE=${failMode} within the deadline while the endpoint hangs`, async () => {
      const limiter = limiterEnv(failMode);
      await warmUp(limiter);
      await setFault({ type: "hang", scope: "scripts" });

      // check() also waits for the Worker's waitUntil work: a pipeline is kept no longer than its deadline.
      const { answers } = await simultaneousChecks(limiter, "hung");

      for (const answer of answers) {
        expectFailModeAnswer(answer, failMode);
        expect(answer.ms).toBeLessThan(DEADLINE_MS + DEADLINE_MARGIN_MS);
      }
    });
  }

  it("fails only the call whose bucket holds the wrong type, deciding the others", async () => {
    const limiter = limiterEnv("open");
    await warmUp(limiter);
    const wrong = unique("wrongtype");
    await redisCommand("SET", bucketKey(FREE.name, wrong), "not a hash");
    const others = Array.from({ length: REQUESTS - 1 }, () => unique("beside-wrongtype"));

    const before = await proxyStats();
    const answers = await Promise.all(
      [wrong, ...others].map((identifier) => check(limiter, { identifier, cost: COST })),
    );
    const after = await proxyStats();

    // A Redis error would come back the same way: its call is not sent again.
    expect((after.commands.EVALSHA ?? 0) - (before.commands.EVALSHA ?? 0), "EVALSHAs").toBe(REQUESTS);
    expect(after.commands.EVAL ?? 0, "EVALs").toBe(before.commands.EVAL ?? 0);
    expectServerError(answers[0] as (typeof answers)[0]);
    for (const answer of answers.slice(1)) expectAdmitted(answer);
    expect(await redisCommand("GET", bucketKey(FREE.name, wrong))).toBe("not a hash");
  });

  it("loads the script again when Redis lost it, and charges each bucket once", async () => {
    const limiter = limiterEnv("closed");
    await warmUp(limiter);
    await redisCommand("SCRIPT", "FLUSH");
    const since = Date.now();

    const { identifiers, answers } = await simultaneousChecks(limiter, "noscript");

    for (const answer of answers) {
      expectAdmitted(answer);
      expect(answer.body.tokens_remaining).toBe(FREE.limit - COST);
    }
    for (const identifier of identifiers) {
      expectCharges(await tokensTaken(identifier, since), COST, { atLeast: 1, atMost: 1 });
    }
  });
});
