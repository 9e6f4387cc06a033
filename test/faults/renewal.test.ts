/**
 * Issue 16: a lease renewed ahead of its end, while the endpoint fails. The isolate goes on granting
 * from the lease it holds; once that is spent, FAIL_MODE answers within the deadline; and what the
 * lost renewal took comes back with the isolate's next call, so every token is granted once, by Redis
 * or from a lease, and none is left out.
 */
import { describe, expect, it } from "vitest";
import type { NamedTier } from "../../src/config/tiers.ts";
import type { Decision } from "../../src/limiter/decision.ts";
import { createLimiter, LimiterUnavailableError } from "../../src/limiter/limiter.ts";
import { createLogger } from "../../src/log.ts";
import { loadSettings } from "../../src/settings.ts";
import { bucketKey, redisCommand } from "./bucket.ts";
import { DEADLINE_MARGIN_MS, DEADLINE_MS, FAIL_MODES, FREE, limiterEnv, unique } from "./helpers.ts";
import { clearFault, proxyStats, setFault } from "./proxy.ts";

const free: NamedTier = {
  name: FREE.name,
  limits: [{ limit: FREE.limit, window: FREE.windowMs / 1000 }],
  mode: "enforce",
  lease: true,
};

describe.each(FAIL_MODES)("FAIL_MODE=%s", (failMode) => {
  it("grants from the lease while its renewal's replies are lost, then answers by FAIL_MODE, and gives the renewal's tokens back", async () => {
    const limiter = createLimiter(loadSettings(limiterEnv(failMode)), createLogger("ERROR"));
    const identifier = unique("renewal");
    const pending: Promise<unknown>[] = [];
    const check = async () => {
      const started = performance.now();
      try {
        const decision = await limiter.check(
          { identifier, tier: free, cost: 1 },
          { waitUntil: (promise) => pending.push(promise) },
        );
        return { decision, ms: performance.now() - started };
      } catch (error) {
        if (!(error instanceof LimiterUnavailableError)) throw error;
        return { decision: undefined, ms: performance.now() - started };
      }
    };
    const since = Date.now();
    let admitted = 0;
    const count = (decision: Decision | undefined) => {
      if (decision?.allowed && decision.decidedBy !== "fail-open") admitted += 1;
    };
    // Busy: the second request takes a lease, and the next ones are granted from it.
    for (let i = 0; i < 3; i++) count((await check()).decision);
    expect((await check()).decision).toMatchObject({ allowed: true, decidedBy: "isolate" });
    admitted += 1;

    await setFault({ type: "drop", scope: "scripts" });
    const before = (await proxyStats()).scripts;
    let failed: Awaited<ReturnType<typeof check>> | undefined;
    for (let i = 0; i < 100 && failed === undefined; i++) {
      const answer = await check();
      if (answer.decision?.decidedBy === "isolate") {
        count(answer.decision);
        // Granted at once, whatever the renewal out meanwhile is waiting for.
        expect(answer.ms).toBeLessThan(DEADLINE_MS / 2);
      } else failed = answer;
    }
    // The renewal went out (and was retried) while the lease still granted.
    expect((await proxyStats()).scripts - before).toBeGreaterThan(1);
    if (failMode === "closed") expect(failed?.decision).toBeUndefined();
    else expect(failed?.decision).toMatchObject({ allowed: true, decidedBy: "fail-open" });
    expect(failed?.ms).toBeLessThan(DEADLINE_MS + DEADLINE_MARGIN_MS);

    await clearFault();
    const after = await check();
    expect(after.decision).toMatchObject({ allowed: true, decidedBy: "redis" });
    count(after.decision);
    // Its lease ends, and what is left of it is given back.
    await Promise.all(pending);

    const [tokens, ts] = (await redisCommand("HMGET", bucketKey(FREE.name, identifier), "tokens", "ts")) as [
      string,
      string,
    ];
    const taken = FREE.limit - Number(tokens);
    const refill = ((Number(ts) - since) * FREE.limit) / FREE.windowMs;
    // Every admission charged once, and no token left out: the lost renewal's lease came back.
    expect(taken).toBeLessThanOrEqual(admitted + 1e-6);
    expect(taken + refill).toBeGreaterThanOrEqual(admitted - 1e-6);
  });
});
