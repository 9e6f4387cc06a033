/** Issue 9 item 3: every answer within REDIS_TIMEOUT_MS (plus a margin), whatever the endpoint or Redis does. */
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
  warmUp,
} from "./helpers.ts";
import { clearFault, redisProcess, setFault } from "./proxy.ts";
import type { Fault } from "./support/faults.ts";

const WITHIN = DEADLINE_MS + DEADLINE_MARGIN_MS;
const COST = 20;

const SLOW: { name: string; fault: Fault }[] = [
  { name: "the endpoint hangs", fault: { type: "hang", scope: "all" } },
  { name: "every reply comes 2 s late", fault: { type: "delay", ms: 2000, scope: "all" } },
];

describe.each(FAIL_MODES)("FAIL_MODE=%s", (failMode) => {
  for (const { name, fault } of SLOW) {
    it(`answers /check and /health within the deadline while ${name}`, async () => {
      const limiter = limiterEnv(failMode);
      await setFault(fault);

      const answers = [
        await check(limiter, { identifier: unique("slow") }),
        await health(limiterEnv(failMode)),
        await check(limiterEnv(failMode), { identifier: unique("slow"), cost: 0 }),
      ];

      expectFailModeAnswer(answers[0] as (typeof answers)[0], failMode);
      expect(answers[1]?.status).toBe(503);
      for (const answer of answers) expect(answer.ms).toBeLessThan(WITHIN);
    });
  }

  it("answers within the deadline while redis-server is stopped (SIGSTOP), charging at most once per decision", async () => {
    const limiter = limiterEnv(failMode);
    const identifier = unique("sigstop");
    await warmUp(limiter);
    const since = Date.now();
    await redisProcess("pause");

    const decisions = [];
    for (let attempt = 0; attempt < 3; attempt++)
      decisions.push(await check(limiter, { identifier, cost: COST }));
    const probe = await health(limiterEnv(failMode));
    await redisProcess("resume");

    for (const decision of decisions) {
      expectFailModeAnswer(decision, failMode);
      expect(decision.ms).toBeLessThan(WITHIN);
    }
    expect(probe.status).toBe(503);
    expect(probe.ms).toBeLessThan(WITHIN);

    expect(await recovers(limiter)).toBe(true);
    expectAdmitted(await check(limiter, { identifier, cost: COST }));
    expectCharges(await tokensTaken(identifier, since), COST, { atLeast: 1, atMost: decisions.length + 1 });
  });

  it("answers within the deadline when only the first call hangs, with the decision's retry inside it", async () => {
    const limiter = limiterEnv(failMode);
    await setFault({ type: "hang", scope: "scripts", times: 1 });
    const answer = await check(limiter, { identifier: unique("hang-once") });
    await clearFault();

    expect(answer.ms).toBeLessThan(WITHIN);
  });
});
