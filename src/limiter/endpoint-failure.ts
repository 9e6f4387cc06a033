import { isTransient } from "./redis-endpoint.ts";

/**
 * Whether an error means the Redis endpoint failed (network, 5xx, 429, the deadline, an open
 * circuit, a garbled reply), as opposed to a bug or a Redis error that would happen again.
 *
 * Temporary, for the http-fixes branch only: the limiter core is adding `isEndpointFailure` to
 * redis-endpoint.ts, and this file goes once it lands. Until then: what `isTransient` retries, less
 * the errors only a bug throws. (workerd reports a refused connection as a plain Error.)
 */
export function isEndpointFailure(error: unknown): boolean {
  if (error instanceof ReferenceError || error instanceof RangeError || error instanceof SyntaxError) {
    return false;
  }
  return isTransient(error);
}
