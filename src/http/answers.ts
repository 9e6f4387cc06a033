import { type Decision, UNAVAILABLE_DETAIL } from "../limiter/decision.ts";

/*
 * Answers whose shape only HTTP has, shared by the Worker's routes and the gate's middleware (which
 * answers other Workers' callers itself).
 */

/** Seconds a client is asked to wait when the limiter itself is unavailable. */
export const UNAVAILABLE_RETRY_AFTER_S = 1;

/** The body of a 429, the original service's shape: the denial under `detail`, without the token count. */
export function limitedBody({ allowed, retry_after, reset_at, limit }: Decision) {
  return { detail: { allowed, retry_after, reset_at, limit } };
}

/** The 503 when Redis cannot answer and FAIL_MODE is closed, or a gate cannot reach its limiter. */
export function unavailableResponse(): Response {
  const headers = { "Retry-After": String(UNAVAILABLE_RETRY_AFTER_S) };
  return Response.json({ detail: UNAVAILABLE_DETAIL }, { status: 503, headers });
}
