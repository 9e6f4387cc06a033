import { type Decision, UNAVAILABLE_DETAIL } from "../limiter/decision.ts";
// Types only: the schemas themselves stay out of the Worker's script (see response-schemas.ts).
import type { AllowedResponse } from "./response-schemas.ts";

/*
 * The bodies of `POST /check`'s answers, each built here and nowhere else: the route's, the gate's
 * RPC result (which is this body and more) and the gate's middleware (which answers other Workers'
 * callers itself) use them.
 */

/** Seconds a client is asked to wait when the limiter itself is unavailable. */
const UNAVAILABLE_RETRY_AFTER_S = 1;

/**
 * The original service's five figures, which every answer with a decision reports (the gate's RPC
 * decision too) and its rate-limit headers restate.
 */
export type CheckFigures = Pick<
  AllowedResponse,
  "allowed" | "tokens_remaining" | "reset_at" | "limit" | "retry_after"
>;

/**
 * The body of `POST /check` for a decision, in the original service's shape: the most restrictive
 * bucket's figures (null when no bucket was read), then the marks that apply, in this order.
 */
export function checkBody(decision: Decision): AllowedResponse {
  const { mostRestrictive, shadow } = decision;
  const body: AllowedResponse = {
    allowed: decision.allowed,
    tokens_remaining: mostRestrictive?.remaining ?? null,
    reset_at: mostRestrictive?.resetAt ?? null,
    limit: decision.limit,
    retry_after: decision.retryAfter,
  };
  if (decision.decidedBy === "fail-open") body.degraded = true;
  if (decision.exempt) body.exempt = true;
  if (shadow !== undefined) {
    body.shadow = true;
    body.would_allow = shadow.wouldAllow;
    body.would_retry_after = shadow.wouldRetryAfter;
  }
  return body;
}

/** The body of a 429, the original service's shape: the denial under `detail`, without the token count. */
export function limitedBody({ allowed, retry_after, reset_at, limit }: CheckFigures) {
  return { detail: { allowed, retry_after, reset_at, limit } };
}

/** The 503 when Redis cannot answer and FAIL_MODE is closed, or a gate cannot reach its limiter. */
export function unavailableResponse(): Response {
  const headers = { "Retry-After": String(UNAVAILABLE_RETRY_AFTER_S) };
  return Response.json({ detail: UNAVAILABLE_DETAIL }, { status: 503, headers });
}
