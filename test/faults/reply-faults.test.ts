/**
 * Issue 9 item 4: each fault of the endpoint's replies, in both FAIL_MODEs: the answer, /health, recovery
 * with no restart once the fault clears, and the bucket afterwards (charged at most once per decision).
 */
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
import { clearFault, setFault } from "./proxy.ts";
import type { FaultAction } from "./support/faults.ts";

const COST = 20;
/** Enough failed decisions to open the breaker (3 failed calls). */
const FAILED_DECISIONS = 3;

/** Faults of the script calls; `runs`: whether Redis ran the script behind the fault. */
const FAULTS: { name: string; fault: FaultAction; runs: boolean }[] = [
  { name: "replies come 2 s late", fault: { type: "delay", ms: 2000 }, runs: true },
  { name: "the endpoint hangs", fault: { type: "hang" }, runs: false },
  { name: "every reply is lost after Redis ran the script", fault: { type: "drop" }, runs: true },
  { name: "the endpoint answers an HTML 502", fault: { type: "html-502" }, runs: false },
  { name: "replies are truncated JSON", fault: { type: "truncate" }, runs: true },
  {
    name: 'replies are {"result":"garbage"}',
    fault: { type: "replace", body: '{"result":"garbage"}' },
    runs: true,
  },
  {
    name: 'replies are {"result":[1,"x"]}',
    fault: { type: "replace", body: '{"result":[1,"x"]}' },
    runs: true,
  },
  { name: 'replies are {"result":null}', fault: { type: "replace", body: '{"result":null}' }, runs: true },
];

describe.each(FAIL_MODES)("FAIL_MODE=%s", (failMode) => {
  for (const { name, fault, runs } of FAULTS) {
    it(`answers per FAIL_MODE while ${name}, then recovers with each decision charged at most once`, async () => {
      const limiter = limiterEnv(failMode);
      const identifier = unique("reply");
      await warmUp(limiter);
      const since = Date.now();
      await setFault({ ...fault, scope: "scripts" });

      for (let attempt = 0; attempt < FAILED_DECISIONS; attempt++) {
        const answer = await check(limiter, { identifier, cost: COST });
        expectFailModeAnswer(answer, failMode);
        expect(answer.ms).toBeLessThan(DEADLINE_MS + DEADLINE_MARGIN_MS);
      }
      // The breaker is open now: /health says so at once, though its PING would pass.
      expect((await health(limiter)).status).toBe(503);

      await clearFault();
      expect(await recovers(limiter)).toBe(true);
      expectAdmitted(await check(limiter, { identifier, cost: COST }));

      const upTo = (runs ? FAILED_DECISIONS : 0) + 1;
      expectCharges(await tokensTaken(identifier, since), COST, { atLeast: 1, atMost: upTo });
    });
  }
});

describe.each(FAIL_MODES)("FAIL_MODE=%s, every request faulty", (failMode) => {
  for (const { name, fault } of FAULTS.filter(({ fault }) => fault.type !== "replace")) {
    it(`reports /health 503 within the deadline on a fresh limiter while ${name}`, async () => {
      const limiter = limiterEnv(failMode);
      await setFault({ ...fault, scope: "all" });

      const answer = await health(limiter);

      expect(answer.status).toBe(503);
      expect(answer.body).toMatchObject({ status: "degraded", redis: "disconnected" });
      expect(answer.ms).toBeLessThan(DEADLINE_MS + DEADLINE_MARGIN_MS);
    });
  }
});
