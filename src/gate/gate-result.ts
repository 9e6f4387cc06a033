import type { NamedTier } from "../config/tiers.ts";
import { checkBody } from "../http/answers.ts";
import { InvalidInputError, type ValidationIssue } from "../limiter/check-input.ts";
import { type Decision, UNAVAILABLE_DETAIL } from "../limiter/decision.ts";
import { LimiterUnavailableError } from "../limiter/limiter.ts";

/*
 * What the gate's `check` takes and answers, over RPC or embedded alike, and the one translation
 * from the limiter's decisions and errors into it. An answer, never a thrown error: Workers RPC
 * keeps only an exception's message, so a result is the one way its kind crosses intact.
 */

export type { ValidationIssue };

/** What a gate asks: the body of `POST /check`, as an object. */
export interface GateRequest {
  identifier: string;
  /** A configured tier; the limiter's default tier when absent or null. */
  tier?: string | null;
  /** Tokens to take, 0 (a peek) to the tier's limit. @default 1 */
  cost?: number;
}

/** One bucket of the tier just after the request: one item of the `RateLimit` headers. */
export interface GatePolicy {
  /** The bucket's capacity. */
  limit: number;
  /** Seconds the bucket takes to refill from empty. */
  window: number;
  /** Whole tokens left. */
  remaining: number;
  /** Unix time in seconds, millisecond precision, when this bucket is full again. */
  resetAt: number;
}

/**
 * The limiter's decision, as `POST /check` answers it plus what a gate needs for the headers.
 * Its figures are those of the tier's most restrictive bucket.
 */
export interface GateDecision {
  /** Whether the request may go ahead. Always true on a shadow tier: see `would_allow`. */
  allowed: boolean;
  /** Whole tokens left after this request; null when `degraded` or `exempt`. */
  tokens_remaining: number | null;
  /** Unix time in seconds, millisecond precision, when the bucket is full again; null when `degraded` or `exempt`. */
  reset_at: number | null;
  /** The bucket's capacity. */
  limit: number;
  /** Whole seconds (at least 1) until `cost` tokens are there; null when allowed. */
  retry_after: number | null;
  /** True, and only then present, when Redis could not answer and the limiter's FAIL_MODE is open. */
  degraded?: true;
  /** True, and only then present, when an override exempts this identifier from its tier's limits. */
  exempt?: true;
  /** True, and only then present, on a shadow tier: let through whatever the bucket says. */
  shadow?: true;
  /** On a shadow tier, whether the limiter would have let the request through. */
  would_allow?: boolean;
  /** On a shadow tier, the `retry_after` it would have answered. */
  would_retry_after?: number | null;
  /** The tier the decision was made on (the default tier when the request named none). */
  tier: string;
  /** The most restrictive bucket's window, in seconds. */
  window: number;
  /** Every bucket of the tier, for the rate-limit headers; absent when `degraded` or `exempt`. */
  policies?: GatePolicy[];
}

/**
 * Why the limiter gave no decision. `detail` is what `POST /check` answers in its body for the
 * same case, except for `internal`.
 * - `invalid`: the request breaks the schema; the 422's list of issues.
 * - `unknown-tier`: it names no configured tier; the 400's `"Invalid tier: gold"`.
 * - `unavailable`: Redis cannot answer and the limiter's FAIL_MODE is closed; the 503's detail.
 * - `internal`: anything else, a bug or an invalid environment of the limiter; the error, for a
 *   log. Never to be taken for an allow.
 */
export type GateError =
  | { kind: "invalid"; detail: ValidationIssue[] }
  | { kind: "unknown-tier"; detail: string }
  | { kind: "unavailable"; detail: string }
  | { kind: "internal"; detail: string };

/**
 * What `check` answers: a decision, or why there is none. Test `ok`, then `error.kind`.
 *
 * @example
 * ```ts
 * const result = await env.RATE_LIMITER.check({ identifier: customer.id, tier: customer.plan });
 * if (!result.ok) {
 *   // "invalid" | "unknown-tier" | "unavailable" | "internal": none of them lets the request through.
 *   return new Response(null, { status: result.error.kind === "unavailable" ? 503 : 500 });
 * }
 * if (!result.decision.allowed) {
 *   return new Response(null, { status: 429, headers: { "Retry-After": String(result.decision.retry_after) } });
 * }
 * ```
 */
export type GateResult = { ok: true; decision: GateDecision } | { ok: false; error: GateError };

/** Anything that decides like the limiter: its RPC binding, or `embeddedLimiter(env)`. */
export interface GateLimiter {
  check(request: GateRequest): Promise<GateResult>;
}

/**
 * The decision as the gate returns it: `POST /check`'s body (answers.ts), then what a gate needs for
 * the headers. Made of named fields only, so nothing the limiter keeps for itself (how it decided,
 * say) crosses RPC.
 */
export function gateDecisionOf(decision: Decision, tier: NamedTier): GateDecision {
  const { mostRestrictive, buckets } = decision;
  const answer: GateDecision = {
    ...checkBody(decision),
    tier: tier.name,
    window: mostRestrictive?.window ?? tier.limits[0]?.window ?? 0,
  };
  if (buckets.length > 0) {
    answer.policies = buckets.map(({ limit, window, remaining, resetAt }) => ({
      limit,
      window,
      remaining,
      resetAt,
    }));
  }
  return answer;
}

/** Why there is no decision, from what the limiter threw. */
export function gateErrorOf(error: unknown): GateError {
  if (error instanceof InvalidInputError) {
    const { reason, detail } = error;
    if (reason === "unknown-tier" && typeof detail === "string") return { kind: reason, detail };
    if (reason === "invalid" && typeof detail !== "string") return { kind: reason, detail };
  }
  if (error instanceof LimiterUnavailableError) return { kind: "unavailable", detail: UNAVAILABLE_DETAIL };
  const text = error instanceof Error ? `${error.name}: ${error.message}` : String(error);
  return { kind: "internal", detail: text.slice(0, 300) };
}
