/** The breaker: after 3 failed calls the limiter stops calling Redis for about 1 s, then closes once it answers. */
import { describe, expect, it } from "vitest";
import {
  check,
  expectAdmitted,
  expectFailModeAnswer,
  FAIL_MODES,
  health,
  limiterEnv,
  recovers,
  unique,
} from "./helpers.ts";
import { clearFault, proxyStats, scriptCallsDuring, setFault } from "./proxy.ts";

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
    const healthy = await health(limiter);
    // SPEC's 200 body; a closed circuit may be named or left out.
    expect(healthy.body).toMatchObject({ status: "ok", redis: "connected" });
    expect(healthy.body.circuit ?? "closed").toBe("closed");
    expectAdmitted(await check(limiter, { identifier }));
  });

  it("lets one probe through after the cool-down while the fault holds, and opens again", async () => {
    const limiter = limiterEnv(failMode);
    await setFault({ type: "html-502", scope: "scripts" });
    for (let attempt = 0; attempt < 3; attempt++) {
      expectFailModeAnswer(await check(limiter, { identifier: unique("trip") }), failMode);
    }
    // Past the longest cool-down (1.2 s): half-open.
    await new Promise((resolve) => setTimeout(resolve, 1300));

    let answers: Awaited<ReturnType<typeof check>>[] = [];
    const calls = await scriptCallsDuring(async () => {
      // Different buckets, so no two requests could share one call anyway.
      answers = await Promise.all(
        Array.from({ length: 10 }, () => check(limiter, { identifier: unique("half-open") })),
      );
    });

    for (const answer of answers) expectFailModeAnswer(answer, failMode);
    // One probe, however many attempts its deadline allows (1 + REDIS_RETRIES), not one call per request.
    expect(calls).toBeGreaterThanOrEqual(1);
    expect(calls).toBeLessThanOrEqual(4);
    expect((await health(limiter)).status).toBe(503);
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
