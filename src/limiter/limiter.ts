import { maxCost, type NamedTier } from "../config/tiers.ts";
import type { Logger } from "../log.ts";
import type { Settings } from "../settings.ts";
import { Batches } from "./batches.ts";
import { type BucketRequest, bucketCalls } from "./bucket-calls.ts";
import type { CheckInput } from "./check-input.ts";
import { CircuitBreaker, type CircuitState } from "./circuit-breaker.ts";
import { withDeadline } from "./deadline.ts";
import { type Decision, degradedDecision, shadowed, UNAVAILABLE_DETAIL } from "./decision.ts";
import { DenyCache } from "./deny-cache.ts";
import { createRedisEndpoint, describeFailure, isTransient, type RedisEndpoint } from "./redis-endpoint.ts";
import { bucketKey, MAX_BATCH } from "./token-bucket-script.ts";

/** Redis could not answer in time and FAIL_MODE is closed. Its message is the HTTP `detail`. */
export class LimiterUnavailableError extends Error {
  override name = "LimiterUnavailableError";
  constructor(options?: ErrorOptions) {
    super(UNAVAILABLE_DETAIL, options);
  }
}

/** Where Redis stands as this isolate sees it. */
export interface Health {
  healthy: boolean;
  circuit: CircuitState;
}

/** Decides requests against Redis, and applies FAIL_MODE when Redis cannot answer. */
export interface Limiter {
  /**
   * At most one round trip to Redis, none for a denial the isolate knows to be certain. Throws
   * `LimiterUnavailableError` when Redis fails and FAIL_MODE is closed.
   */
  check(input: CheckInput, nowMs?: number): Promise<Decision>;
  /** Whether Redis answers a PING within the deadline (not asked while the circuit is open). */
  health(): Promise<Health>;
  /** Drops what this isolate knows of a bucket, e.g. after an operator changed its limits. */
  forget(tierName: string, identifier: string): void;
}

export interface LimiterOptions {
  /** Redis key prefix; buckets live at `<prefix>:<tier>:<identifier>` (bucketKey). @default "ratelimit" */
  prefix?: string;
  /** The circuit breaker's cool-down before jitter, in ms. @default 1000 */
  cooldownMs?: number;
  /** The Redis endpoint, when it is shared (with the admin API). @default one of its own */
  endpoint?: RedisEndpoint;
}

/**
 * The limiter for one Worker environment, kept for the life of the isolate: one Redis client,
 * one breaker, one deny cache. A request is answered from the deny cache when its denial is
 * certain; otherwise it joins the next script call for its bucket (batches.ts, bucket-calls.ts),
 * which the breaker may refuse. Every failure meets FAIL_MODE in `unavailable`, the one failure policy.
 */
export function createLimiter(settings: Settings, log: Logger, options: LimiterOptions = {}): Limiter {
  const prefix = options.prefix ?? "ratelimit";
  const endpoint = options.endpoint ?? createRedisEndpoint(settings);
  const breaker = new CircuitBreaker(log, { cooldownMs: options.cooldownMs });
  const denials = new DenyCache();
  const batches = new Batches<BucketRequest, Decision>(
    bucketCalls(endpoint, breaker, denials, settings),
    MAX_BATCH,
  );

  /** The one failure policy: FAIL_MODE decides, and the answer is marked and logged. */
  function unavailable(tier: NamedTier, error: unknown): Decision {
    const reason = describeFailure(error);
    if (settings.FAIL_MODE === "closed") {
      log.warning("redis unavailable, request denied (FAIL_MODE=closed)", { tier: tier.name, reason });
      throw new LimiterUnavailableError({ cause: error });
    }
    log.warning("redis unavailable, request allowed unchecked (FAIL_MODE=open)", { tier: tier.name, reason });
    return degradedDecision(maxCost(tier));
  }

  // A certain denial and an open circuit are answered in decideBatch (bucket-calls.ts), before any
  // call, for a request alone as for those that queued behind a call: one place for both.
  async function decide({ identifier, tier, cost }: CheckInput, nowMs: number): Promise<Decision> {
    const key = bucketKey(prefix, tier.name, identifier);
    const deadlineAt = Date.now() + settings.REDIS_TIMEOUT_MS;
    try {
      return await batches.submit(key, { tier, cost, nowMs, deadlineAt }, deadlineAt);
    } catch (error) {
      return unavailable(tier, error);
    }
  }

  return {
    forget(tierName, identifier) {
      denials.forget(bucketKey(prefix, tierName, identifier));
    },

    async check(input, nowMs = Date.now()) {
      const decision = await decide(input, nowMs);
      return input.tier.mode === "shadow" ? shadowed(decision) : decision;
    },

    async health() {
      if (!breaker.tryAcquire()) return { healthy: false, circuit: breaker.state };
      try {
        const pong = await withDeadline(() => endpoint.ping(), {
          deadlineAt: Date.now() + settings.REDIS_TIMEOUT_MS,
          retries: settings.REDIS_RETRIES,
          isRetryable: isTransient,
        });
        if (pong !== "PONG") throw new Error(`PING answered ${JSON.stringify(pong)?.slice(0, 50)}`);
        breaker.succeeded();
        return { healthy: true, circuit: breaker.state };
      } catch (error) {
        const reason = describeFailure(error);
        breaker.failed(reason);
        log.warning("redis health check failed", { reason });
        return { healthy: false, circuit: breaker.state };
      }
    },
  };
}
