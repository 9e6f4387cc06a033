/** redis-server stopped, killed, paused and started again: FAIL_MODE meanwhile, recovery with no restart of anything else. */
import { describe, expect, it } from "vitest";
import { expectCharges, tokensTaken } from "./bucket.ts";
import {
  check,
  DEADLINE_MARGIN_MS,
  DEADLINE_MS,
  expectAdmitted,
  expectFailModeAnswer,
  FAIL_MODES,
  health,
  limiterEnv,
  recovers,
  unique,
} from "./helpers.ts";
import { redisProcess } from "./proxy.ts";
import type { RedisAction } from "./support/faults.ts";

const COST = 20;

/** How Redis goes away, how it comes back, and whether the buckets survive (no persistence here). */
const OUTAGES: { name: string; down: RedisAction; up: RedisAction; keepsData: boolean }[] = [
  { name: "stopped (SIGTERM) and started again", down: "stop", up: "start", keepsData: false },
  { name: "killed (SIGKILL) and started again", down: "kill", up: "start", keepsData: false },
  { name: "paused (SIGSTOP) and resumed", down: "pause", up: "resume", keepsData: true },
];

describe.each(FAIL_MODES)("FAIL_MODE=%s", (failMode) => {
  for (const { name, down, up, keepsData } of OUTAGES) {
    it(`answers per FAIL_MODE while Redis is ${name}, then recovers with the bucket intact`, async () => {
      const limiter = limiterEnv(failMode);
      const identifier = unique(down);
      const since = Date.now();
      expectAdmitted(await check(limiter, { identifier, cost: COST }));
      await redisProcess(down);

      const answer = await check(limiter, { identifier, cost: COST });
      const probe = await health(limiterEnv(failMode));
      await redisProcess(up);

      expectFailModeAnswer(answer, failMode);
      expect(answer.ms).toBeLessThan(DEADLINE_MS + DEADLINE_MARGIN_MS);
      expect(probe.status).toBe(503);
      expect(await recovers(limiter)).toBe(true);
      expectAdmitted(await check(limiter, { identifier, cost: COST }));
      // A restarted Redis starts empty (and without the script: NOSCRIPT, then EVAL).
      const charges = keepsData ? { atLeast: 2, atMost: 3 } : { atLeast: 1, atMost: 1 };
      expectCharges(await tokensTaken(identifier, since), COST, charges);
    });
  }
});
