/**
 * Issue 9 rows 1 and 2: with Redis healthy, a burst of simultaneous requests on one bucket admits what the
 * bucket holds and no more, in both FAIL_MODEs, with no 503 and no degraded answer: a busy isolate is not
 * a failing backend.
 */
import { describe, expect, it } from "vitest";
import { tokensTaken } from "./bucket.ts";
import { check, FAIL_MODES, FREE, limiterEnv, unique } from "./helpers.ts";

const REQUESTS = 1000;

describe.each(FAIL_MODES)("FAIL_MODE=%s", (failMode) => {
  for (const cost of [1, 7]) {
    it(`admits exactly what a bucket of ${FREE.limit} holds out of ${REQUESTS} simultaneous requests of cost ${cost}`, async () => {
      const limiter = limiterEnv(failMode);
      const identifier = unique(`burst-${cost}`);
      const since = Date.now();

      const answers = await Promise.all(
        Array.from({ length: REQUESTS }, () => check(limiter, { identifier, cost })),
      );
      const elapsed = Date.now() - since;

      const statuses = answers.map((answer) => answer.status);
      const admitted = answers.filter((answer) => answer.status === 200 && answer.body.allowed === true);
      expect(statuses.filter((status) => status === 503).length, "503 answers").toBe(0);
      expect(answers.filter((answer) => answer.body.degraded === true).length, "degraded answers").toBe(0);
      expect(
        statuses.filter((status) => status !== 200 && status !== 429),
        "other statuses",
      ).toEqual([]);

      // What refill the burst's own duration allows on top of the full bucket.
      const refill = (elapsed * FREE.limit) / FREE.windowMs;
      expect(admitted.length).toBeGreaterThanOrEqual(Math.floor(FREE.limit / cost));
      expect(admitted.length).toBeLessThanOrEqual(Math.floor((FREE.limit + refill) / cost));
      const taken = await tokensTaken(identifier, since);
      expect(taken.min).toBeLessThanOrEqual(admitted.length * cost + 1e-6);
      expect(taken.max).toBeGreaterThanOrEqual(admitted.length * cost - 1e-6);
    });
  }
});
