import type { Context, Env as HonoEnv, MiddlewareHandler, Next } from "hono";
import { limitedBody, unavailableResponse } from "../http/answers.ts";
import { rateLimitHeaders } from "../http/rate-limit-headers.ts";
import { createLogger, type Logger } from "../log.ts";
import type { GateDecision, GateError, GateLimiter, GateResult } from "./gate-result.ts";

export type {
  GateDecision,
  GateError,
  GateLimiter,
  GatePolicy,
  GateRequest,
  GateResult,
  ValidationIssue,
} from "./gate-result.ts";

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
  /** Where decisions come from: the service binding (`(c) => c.env.RATE_LIMITER`), or `embeddedLimiter(c.env, c.executionCtx)`. */
  limiter: (c: Context<E>) => GateLimiter;
  /**
   * Who is asking: a principal your Worker has verified (the customer behind an API key it looked
   * up), never a header as sent, which a caller can change per request to get a fresh bucket.
   * Never put in a header or a log.
   */
  identifier: (c: Context<E>) => string | Promise<string>;
  /**
   * The tier to charge, from the same verified principal (its plan), never from the request; the
   * limiter's default tier when it returns undefined.
   */
  tier?: (c: Context<E>) => string | undefined | Promise<string | undefined>;
  /**
   * Tokens this request takes.
   * @default 1
   */
  cost?: (c: Context<E>) => number | Promise<number>;
  /**
   * What to do when the limiter itself cannot be reached or is misconfigured (a binding missing,
   * misnamed, or without the RateLimiter entrypoint: logged as an ERROR). Not when it answers: that
   * Redis is down (its own FAIL_MODE has decided), nor that it failed (`internal`: always a 500).
   * `closed` answers 503, `open` lets the request through marked `degraded`.
   * @default "closed"
   */
  failMode?: "open" | "closed";
  /**
   * Where its lines go (a misconfiguration and a limiter's internal failure at ERROR, an unreachable
   * limiter and a degraded pass at WARNING): one JSON object per line, as the limiter itself logs.
   * @default createLogger("INFO")
   */
  log?: Logger;
}

/**
 * Gates the routes behind it with the rate limiter. An allowed request goes on with the
 * rate-limit headers set on its response; a limited one is answered 429 here, in the limiter's
 * own shape; when Redis is down the limiter's FAIL_MODE decides (503, or a pass marked degraded).
 * Input the limiter refuses is answered as `POST /check` answers it: 400 for an unknown tier, 422
 * with the list of issues otherwise; a failure inside the limiter is a 500, whatever `failMode`
 * says. Put it after your authentication, so it charges who the caller is, not who the caller
 * says it is.
 *
 * @example
 * ```ts
 * import { Hono } from "hono";
 * import { rateLimit } from "edge-rate-limiter/middleware";
 *
 * // `authenticate` answers 401 to an unknown API key, else sets `customer` from your own records.
 * app.use("/api/*", authenticate);
 * app.use(
 *   "/api/*",
 *   rateLimit({
 *     limiter: (c) => c.env.RATE_LIMITER,
 *     identifier: (c) => c.var.customer.id,
 *     tier: (c) => c.var.customer.plan,
 *   }),
 * );
 * ```
 */
export function rateLimit<E extends HonoEnv = HonoEnv>(
  options: RateLimitOptions<E>,
): MiddlewareHandler<E & { Variables: RateLimitVariables }> {
  const failMode = options.failMode ?? "closed";
  const log = options.log ?? createLogger("INFO");

  return async function rateLimitMiddleware(c, next) {
    const context = c as unknown as Context<E>;
    const request = {
      identifier: await options.identifier(context),
      tier: await options.tier?.(context),
      cost: await options.cost?.(context),
    };
    // Typed as always there, but a binding missing from wrangler.toml, or named otherwise, is undefined.
    const limiter = options.limiter(context) as GateLimiter | undefined;
    if (typeof limiter?.check !== "function") {
      const cause = "options.limiter gave no limiter: is the service binding missing or misnamed?";
      return noDecision(c, next, failMode, "misconfigured", cause, log);
    }
    let result: GateResult;
    try {
      result = await limiter.check(request);
    } catch (error) {
      // The limiter answers its own failures in the result, so a throw is the call's: the runtime's
      // TypeError for a binding without the method, or a limiter Worker that could not be run.
      if (error instanceof TypeError) {
        const cause = `check() failed with "${error.message}": does the binding name the RateLimiter entrypoint?`;
        return noDecision(c, next, failMode, "misconfigured", cause, log);
      }
      return noDecision(c, next, failMode, "unreachable", String(error), log);
    }
    // Typed as always a result, but a limiter older than this middleware answers a bare decision.
    if (typeof (result as Partial<GateResult> | undefined)?.ok !== "boolean") {
      const cause = "check() gave no { ok } result: is the limiter Worker older than this middleware?";
      return noDecision(c, next, failMode, "misconfigured", cause, log);
    }
    if (!result.ok) return refusal(c, result.error, log);

    const { decision } = result;
    const headers = rateLimitHeaders(decision, decision.policies, decision.tier, Date.now());
    if (!decision.allowed) {
      return c.json(limitedBody(decision), 429, headers);
    }
    if (decision.degraded) log.warning("request let through unchecked: the limiter's Redis is down");
    c.set("rateLimit", { decision, degraded: decision.degraded === true });
    // Set before next(): Hono carries them onto whatever response the route returns.
    for (const [name, value] of Object.entries(headers)) c.header(name, value);
    await next();
  };
}

/**
 * The limiter answered without a decision: the answer `POST /check` gives the same case, and never
 * a pass. An `internal` failure (or a kind newer than this middleware) is logged as an ERROR.
 */
function refusal(c: Context, error: GateError, log: Logger): Response {
  switch (error.kind) {
    case "invalid":
      return c.json({ detail: error.detail }, 422);
    case "unknown-tier":
      return c.json({ detail: error.detail }, 400);
    case "unavailable":
      return unavailableResponse();
    default:
      log.error("rate limiter failed, answered 500", {
        kind: error.kind,
        problem: String(error.detail).slice(0, 300),
      });
      return c.json({ detail: "Internal Server Error" }, 500);
  }
}

/**
 * No decision came back: `failMode` answers, 503 or a pass marked degraded. A misconfiguration is
 * logged as an ERROR, since someone must fix the deployment; an unreachable limiter as a WARNING.
 */
function noDecision(
  c: Context,
  next: Next,
  failMode: "open" | "closed",
  problem: "misconfigured" | "unreachable",
  cause: string,
  log: Logger,
) {
  const answer = failMode === "open" ? "request let through unchecked" : "answered 503";
  const write = problem === "misconfigured" ? log.error : log.warning;
  write(`rate limiter ${problem}, ${answer} (failMode=${failMode})`, { problem: cause.slice(0, 300) });
  if (failMode === "closed") return unavailableResponse();
  c.set("rateLimit", { degraded: true });
  return next();
}
