/** The breaker: after 3 failed calls the limiter stops calling Redis for about 1 s, then closes once it answers. */
import { describe, expect, it } from "vitest";
import {
  check,
  clearFault,
  expectAdmitted,
  expectFailModeAnswer,
  FAIL_MODES,
  health,
  limiterEnv,
  proxyStats,
  recovers,
  setFault,
  unique,
} from "./helpers.ts";

/** "At once": far below the 500 ms deadline, with room for a busy machine. */
const IMMEDIATE_MS = 100;

describe.each(FAIL_MODES)("FAIL_MODE=%s", (failMode) => {
  it("answers at once without calling the endpoint after 3 failed calls, and closes once the fault clears", async () => {
    const limiter = limiterEnv(failMode);
    const identifier = unique("breaker");
    await setFault({ type: "html-502", scope: "all" });
    for (let attempt = 0; attempt < 3; attempt++) {
      expectFailModeAnswer(await check(limiter, { identifier }), failMode);
    }

    const before = await proxyStats();
    const decision = await check(limiter, { identifier });
    const probe = await health(limiter);
    const after = await proxyStats();

    expectFailModeAnswer(decision, failMode);
    expect(decision.ms).toBeLessThan(IMMEDIATE_MS);
    expect(probe.status).toBe(503);
    expect(probe.body).toEqual({ status: "degraded", redis: "disconnected", circuit: "open" });
    expect(probe.ms).toBeLessThan(IMMEDIATE_MS);
    expect(after.all - before.all, "requests the endpoint received while open").toBe(0);

    await clearFault();
    expect(await recovers(limiter)).toBe(true);
    expect((await health(limiter)).body).toEqual({ status: "ok", redis: "connected", circuit: "closed" });
    expectAdmitted(await check(limiter, { identifier }));
  });

  it("keeps a limiter of its own per environment: a fresh one is not tripped by another's failures", async () => {
    const tripped = limiterEnv(failMode);
    await setFault({ type: "html-502", scope: "scripts" });
    for (let attempt = 0; attempt < 3; attempt++) {
      expectFailModeAnswer(await check(tripped, { identifier: unique("tripped") }), failMode);
    }
    await clearFault();

    expectAdmitted(await check(limiterEnv(failMode), { identifier: unique("fresh") }));
  });
});
