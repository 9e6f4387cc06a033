import { InvalidInputError } from "../limiter/check-input.ts";
import { UNAVAILABLE_DETAIL } from "../limiter/decision.ts";

/*
 * The gate's one translation of errors, both ways. Over RPC only the type and message of an error
 * cross (standard types only; own properties are lost), so the limiter's errors leave as a TypeError
 * carrying the HTTP `detail` (bad input) or an Error whose message is the 503's `detail` (Redis down
 * and FAIL_MODE closed), and the middleware tells them apart by those alone.
 */

/** What `decide` throws for a limiter error: a standard error that keeps its meaning across RPC. */
export function toGateError(error: unknown): unknown {
  return error instanceof InvalidInputError ? new TypeError(error.message) : error;
}

/** Why a gate got no decision, read from what `check` threw. */
export type GateFailure =
  | { kind: "invalid"; detail: string }
  | { kind: "unavailable" }
  | { kind: "misconfigured"; cause: string }
  | { kind: "unreachable"; cause: string };

/** Reads what a limiter's `check` threw, through RPC or not. */
export function gateFailureOf(error: unknown): GateFailure {
  if (error instanceof TypeError && isInvalidInputMessage(error.message)) {
    return { kind: "invalid", detail: error.message };
  }
  if (error instanceof Error && error.message === UNAVAILABLE_DETAIL) return { kind: "unavailable" };
  // Any other TypeError is the runtime's, e.g. a binding to a Worker without that entrypoint.
  if (error instanceof TypeError) {
    return {
      kind: "misconfigured",
      cause: `check() failed with "${error.message}": does the binding name the RateLimiter entrypoint?`,
    };
  }
  return { kind: "unreachable", cause: String(error) };
}

/**
 * Whether an error's message is one the limiter gives bad input: an unknown tier, or a 422's issue
 * list as JSON. A misnamed binding also throws a TypeError ("... does not implement the method"), so
 * the message is what tells them apart.
 */
function isInvalidInputMessage(message: string): boolean {
  if (message.startsWith("Invalid tier: ")) return true;
  try {
    const issues: unknown = JSON.parse(message);
    return (
      Array.isArray(issues) &&
      issues.length > 0 &&
      issues.every(
        (issue) => Array.isArray(issue?.loc) && issue.loc[0] === "body" && typeof issue.msg === "string",
      )
    );
  } catch {
    return false;
  }
}
