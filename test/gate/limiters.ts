import { env } from "cloudflare:workers";
import { inject } from "vitest";
import { embeddedLimiter } from "../../src/gate/embedded.ts";
import type { GateLimiter } from "../../src/gate/middleware.ts";

/** The limiters vitest.config.ts runs beside the consumer (see its `gate` project). */
export const bound = env as unknown as {
  /** The limiter, healthy. */
  RATE_LIMITER: GateLimiter;
  /** Its fetch handler, which has no check(): a binding without `entrypoint = "RateLimiter"`. */
  LIMITER_HTTP: Fetcher & GateLimiter;
  LIMITER_REDIS_DOWN_CLOSED: GateLimiter;
  LIMITER_REDIS_DOWN_OPEN: GateLimiter;
  LIMITER_BAD_ENV: GateLimiter;
  /** Not the limiter: a Worker whose check() throws, as a call that cannot be made would. */
  LIMITER_BROKEN: GateLimiter;
};

const redisDown = { UPSTASH_REDIS_REST_URL: inject("refusingUrl"), REDIS_TIMEOUT_MS: "300" };

/**
 * The same four limiters both ways a gate may use one: over RPC, and embedded in this Worker with
 * the same settings. `badEnv` is a real deployment mistake, not a mock: REDIS_TIMEOUT_MS set to a
 * word, under FAIL_MODE=open. The limiter then fails inside on every check, before any Redis call,
 * with a SettingsError: a failure that is not Redis's, which no FAIL_MODE may turn into an allow
 * (`POST /check` answers it 500).
 */
export const ways: Record<
  "over RPC" | "embedded",
  Record<"healthy" | "closed" | "open" | "badEnv", GateLimiter>
> = {
  "over RPC": {
    healthy: bound.RATE_LIMITER,
    closed: bound.LIMITER_REDIS_DOWN_CLOSED,
    open: bound.LIMITER_REDIS_DOWN_OPEN,
    badEnv: bound.LIMITER_BAD_ENV,
  },
  embedded: {
    healthy: embeddedLimiter(env),
    closed: embeddedLimiter({ ...env, ...redisDown, FAIL_MODE: "closed" }),
    open: embeddedLimiter({ ...env, ...redisDown, FAIL_MODE: "open" }),
    badEnv: embeddedLimiter({ ...env, FAIL_MODE: "open", REDIS_TIMEOUT_MS: "soon" }),
  },
};
