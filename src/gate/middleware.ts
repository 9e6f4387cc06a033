import type { Context, Env as HonoEnv, MiddlewareHandler } from "hono";
import { rateLimitHeaders } from "../http/rate-limit-headers.ts";
import { limitedBody, UNAVAILABLE_DETAIL, UNAVAILABLE_RETRY_AFTER_S } from "../limiter/decision.ts";
import type { GateDecision, GateLimiter } from "./decide.ts";

export type { GateDecision, GateLimiter, GateRequest } from "./decide.ts";

/** What the middleware leaves for the routes behind it, as `c.var.rateLimit`. */
export interface RateLimitVariables {
  rateLimit: {
    /** The limiter's decision; absent when the limiter could not be reached at all. */
    decision?: GateDecision;
    /** True when the request was let through unchecked because Redis or the limiter was down. */
    degraded: boolean;
  };
}

export interface RateLimitOptions<E extends HonoEnv> {
  /** Where decisions come from: the service binding (`(c) => c.env.RATE_LIMITER`), or `embeddedLimiter(c.env)`. */
  limiter: (c: Context<E>) => GateLimiter;
  /** Who is asking: an API key, a user id, `cf-connecting-ip`. Never put in a header or a log. */
  identifier: (c: Context<E>) => string | Promise<string>;
  /** The tier to charge; the limiter's default tier when it returns undefined. */
  tier?: (c: Context<E>) => string | undefined | Promise<string | undefined>;
  /**
   * Tokens this request takes.
   * @default 1
   */
  cost?: (c: Context<E>) => number | Promise<number>;
  /**
   * What to do when the limiter itself cannot be reached (not when it answers that Redis is
   * down: then its own FAIL_MODE has decided). `closed` answers 503, `open` lets the request
   * through marked `degraded`.
   * @default "closed"
   */
  failMode?: "open" | "closed";
}

/**
 * Gates the routes behind it with the rate limiter. An allowed request goes on with the
 * rate-limit headers set on its response; a limited one is answered 429 here, in the limiter's
 * own shape; when Redis is down the limiter's FAIL_MODE decides (503, or a pass marked degraded);
 * bad input (an unknown tier, say) is answered 400 with the limiter's `detail`.
 *
 * @example
 * ```ts
 * import { Hono } from "hono";
 * import { rateLimit } from "edge-rate-limiter/middleware";
 *
 * const app = new Hono<{ Bindings: { RATE_LIMITER: Service<RateLimiter> } }>();
 * app.use(
 *   "/api/*",
 *   rateLimit({
 *     limiter: (c) => c.env.RATE_LIMITER,
 *     identifier: (c) => c.req.header("x-api-key") ?? c.req.header("cf-connecting-ip") ?? "anonymous",
 *     tier: (c) => c.req.header("x-plan"),
 *   }),
 * );
 * ```
 */
export function rateLimit<E extends HonoEnv = HonoEnv>(
  options: RateLimitOptions<E>,
): MiddlewareHandler<E & { Variables: RateLimitVariables }> {
  const failMode = options.failMode ?? "closed";

  return async function rateLimitMiddleware(c, next) {
    const context = c as unknown as Context<E>;
    const request = {
      identifier: await options.identifier(context),
      tier: await options.tier?.(context),
      cost: await options.cost?.(context),
    };
    let decision: GateDecision;
    try {
      decision = await options.limiter(context).check(request);
    } catch (error) {
      // Bad input arrives as a TypeError carrying the limiter's detail (the type survives RPC).
      if (error instanceof TypeError) return c.json({ detail: error.message }, 400);
      const limiterDecided = error instanceof Error && error.message === UNAVAILABLE_DETAIL;
      if (limiterDecided || failMode === "closed") return unavailable(c);
      console.warn(
        JSON.stringify({
          level: "WARNING",
          msg: "rate limiter unreachable, request let through (failMode=open)",
        }),
      );
      c.set("rateLimit", { degraded: true });
      return next();
    }

    const headers = rateLimitHeaders(decision, decision.tier, Date.now());
    if (!decision.allowed) {
      return c.json(limitedBody(decision), 429, headers);
    }
    if (decision.degraded) {
      console.warn(
        JSON.stringify({
          level: "WARNING",
          msg: "request let through unchecked: the limiter's Redis is down",
        }),
      );
    }
    c.set("rateLimit", { decision, degraded: decision.degraded === true });
    // Set before next(): Hono carries them onto whatever response the route returns.
    for (const [name, value] of Object.entries(headers)) c.header(name, value);
    await next();
  };
}

function unavailable(c: Context) {
  return c.json({ detail: UNAVAILABLE_DETAIL }, 503, { "Retry-After": String(UNAVAILABLE_RETRY_AFTER_S) });
}
