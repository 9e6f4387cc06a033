import { type CheckInput, validateCheckInput } from "../limiter/check-input.ts";
import type { Decision } from "../limiter/decision.ts";
import { checkCounted } from "../metrics.ts";
import { servicesFor } from "../services.ts";
import { toGateError } from "./gate-errors.ts";

/** What a gate asks: the body of `POST /check`, as an object. */
export interface GateRequest {
  identifier: string;
  tier?: string | null;
  cost?: number;
}

/**
 * The decision, plus the tier it was made on and that tier's window: what a gate needs to set
 * the rate-limit headers itself.
 */
export interface GateDecision extends Decision {
  tier: string;
  window: number;
}

/** Anything that decides like the limiter: its RPC binding, or `embeddedLimiter(env)`. */
export interface GateLimiter {
  check(request: GateRequest): Promise<GateDecision>;
}

/**
 * Decides one request for a gate. Bad input throws a `TypeError` whose message is the HTTP
 * `detail`, and an unavailable Redis under FAIL_MODE=closed throws an `Error` whose message is
 * the 503's `detail`: standard error types, because only those keep their type across RPC.
 */
export async function decide(
  env: object,
  request: GateRequest,
  waitUntil: (promise: Promise<unknown>) => void = () => {},
): Promise<GateDecision> {
  const services = servicesFor(env);
  let input: CheckInput;
  try {
    input = validateCheckInput(request);
  } catch (error) {
    throw toGateError(error);
  }
  const decision = await checkCounted(services, input, waitUntil);
  // The most restrictive bucket: the one whose figures the decision reports (its limit alone could
  // be shared by buckets of other windows).
  const binding = decision.policies?.find(
    (policy) =>
      policy.limit === decision.limit &&
      policy.remaining === decision.tokens_remaining &&
      policy.resetAt === decision.reset_at,
  );
  return { ...decision, tier: input.tier.name, window: binding?.window ?? input.tier.limits[0]?.window ?? 0 };
}
