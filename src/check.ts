import type { CheckInput } from "./limiter/check-input.ts";
import type { Decision } from "./limiter/decision.ts";
import type { Services } from "./services.ts";

/**
 * The one way an adapter decides a request (`POST /check` and the gate alike): asks the limiter, and
 * hands the decision's data point (a 503's too) to `waitUntil` when metrics are on, so no adapter can
 * forget to count. Throws what the limiter throws.
 */
export async function checkCounted(
  { limiter, metrics }: Pick<Services, "limiter" | "metrics">,
  input: CheckInput,
  waitUntil: (promise: Promise<unknown>) => void,
  nowMs = Date.now(),
): Promise<Decision> {
  let decision: Decision | undefined;
  try {
    decision = await limiter.check(input, { nowMs, waitUntil });
    return decision;
  } finally {
    if (metrics) waitUntil(metrics.record(input.tier.name, input.identifier, input.cost, decision));
  }
}
