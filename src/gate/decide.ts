import { checkCounted } from "../check.ts";
import { validateCheckInput } from "../limiter/check-input.ts";
import { createLogger } from "../log.ts";
import { type Services, servicesFor } from "../services.ts";
import { type GateRequest, type GateResult, gateDecisionOf, gateErrorOf } from "./gate-result.ts";

/**
 * Decides one request for a gate, exactly as `POST /check` does, and answers with a result rather
 * than throwing: whatever goes wrong, an invalid environment included, comes back as an error of
 * its kind. An `internal` one is logged here at ERROR, as the HTTP API logs its 500s.
 */
export async function decide(
  env: object,
  request: GateRequest,
  waitUntil: (promise: Promise<unknown>) => void,
): Promise<GateResult> {
  let services: Services | undefined;
  try {
    services = servicesFor(env);
    const input = validateCheckInput(request);
    const decision = await checkCounted(services, input, waitUntil);
    return { ok: true, decision: gateDecisionOf(decision, input.tier) };
  } catch (thrown) {
    const error = gateErrorOf(thrown);
    if (error.kind === "internal") {
      // No services when the environment itself is invalid: log at ERROR anyway.
      (services?.log ?? createLogger("ERROR")).error("gate check failed", {
        kind: error.kind,
        error: error.detail,
      });
    }
    return { ok: false, error };
  }
}
