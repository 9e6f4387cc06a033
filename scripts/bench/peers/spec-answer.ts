/**
 * The answer SPEC.md asks of `POST /check`, for the bench's reference Workers: 200 or 429, the six
 * rate-limit headers (Retry-After on a denial only) and the body's shape, for one bucket. The project's
 * own Worker does not use this: it is what the references pay for answering as the SPEC says.
 */

/** One bucket: `limit` tokens, refilled over `window` seconds. */
export interface SpecBucket {
  name: string;
  limit: number;
  /** seconds */
  window: number;
}

/** The answer for a bucket left with `tokensLeft` tokens after allowing or denying one token. */
export function specAnswer(bucket: SpecBucket, allowed: boolean, tokensLeft: number): Response {
  const { name, limit, window } = bucket;
  const secondsPerToken = window / limit;
  const remaining = Math.max(0, Math.floor(tokensLeft));
  const untilFull = Math.ceil((limit - tokensLeft) * secondsPerToken);
  const resetAt = Date.now() / 1000 + (limit - tokensLeft) * secondsPerToken;
  const headers: Record<string, string> = {
    "RateLimit-Policy": `"${name}";q=${limit};w=${window}`,
    RateLimit: `"${name}";r=${remaining};t=${untilFull}`,
    "RateLimit-Limit": String(limit),
    "RateLimit-Remaining": String(remaining),
    "RateLimit-Reset": String(untilFull),
    "content-type": "application/json",
  };
  if (allowed) {
    const body = { allowed, tokens_remaining: remaining, reset_at: resetAt, limit, retry_after: null };
    return new Response(JSON.stringify(body), { status: 200, headers });
  }
  const retryAfter = Math.max(1, Math.ceil((1 - tokensLeft) * secondsPerToken));
  headers["Retry-After"] = String(retryAfter);
  const detail = { allowed, retry_after: retryAfter, reset_at: resetAt, limit };
  return new Response(JSON.stringify({ detail }), { status: 429, headers });
}
