import { maxCost, type NamedTier } from "../config/tiers.ts";
import type { Logger } from "../log.ts";
import type { Settings } from "../settings.ts";
import { type BatchContext, Batches, type WaitUntil } from "./batches.ts";
import { answerWaited, type BucketAnswer, type BucketRequest, bucketCalls } from "./bucket-calls.ts";
import type { CheckInput } from "./check-input.ts";
import { CircuitBreaker, type CircuitState } from "./circuit-breaker.ts";
import { withDeadline } from "./deadline.ts";
import { type Decision, degradedDecision, shadowed, UNAVAILABLE_DETAIL } from "./decision.ts";
import { KnownBuckets } from "./known-buckets.ts";
import {
  createRedisEndpoint,
  describeFailure,
  isEndpointFailure,
  isTransient,
  type RedisEndpoint,
} from "./redis-endpoint.ts";
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

/** When a check is asked, and how its work may go on after it is answered. */
export interface CheckOptions {
  /** The caller's clock, ms. @default Date.now() */
  nowMs?: number;
  /** The request's `ctx.waitUntil`: lets a call for others, or a lease's give-back, outlive this answer. */
  waitUntil?: WaitUntil;
}

/** Decides requests against Redis, and applies FAIL_MODE when Redis cannot answer. */
export interface Limiter {
  /**
   * One script call for the request, none when the isolate already knows the answer (a lease, a
   * certain denial); retries inside the deadline, and an EVAL after NOSCRIPT, add round trips only
   * when the first fails. Throws `LimiterUnavailableError` when Redis fails and FAIL_MODE is
   * closed, `InvalidInputError` for a cost the identifier's buckets can never hold, and anything
   * else that went wrong (a bug is never an allow).
   */
  check(input: CheckInput, options?: CheckOptions): Promise<Decision>;
  /** Whether Redis answers a PING within the deadline (not asked while the circuit is open). */
  health(): Promise<Health>;
  /** Drops what this isolate knows of a bucket and its lease on it, e.g. after an operator changed it. */
  forget(tierName: string, identifier: string): void;
}

export interface LimiterOptions {
  /** Redis key prefix; buckets live at `<prefix>:<tier>:<identifier>` (bucketKey). @default "ratelimit" */
  prefix?: string;
  /** The Redis endpoint, when it is shared (with the admin API). @default one of its own */
  endpoint?: RedisEndpoint;
}

/**
 * The limiter for one Worker environment, kept for the life of the isolate: one Redis client, one
 * breaker, and what the isolate knows of each bucket. A request is answered at once when the
 * isolate knows the answer (known-buckets.ts); otherwise it joins the next script call for its
 * bucket (batches.ts, bucket-calls.ts), or opens one (`decideInRedis`), which the breaker may refuse.
 * A failing Redis meets FAIL_MODE in `unavailable`, the one failure policy; any other error is
 * thrown as it is.
 */
export function createLimiter(settings: Settings, log: Logger, options: LimiterOptions = {}): Limiter {
  const prefix = options.prefix ?? "ratelimit";
  const endpoint = options.endpoint ?? createRedisEndpoint(settings);
  // No call outlives its deadline, so a probe unreported for that long will never report.
  const breaker = new CircuitBreaker(log, { probeMs: settings.REDIS_TIMEOUT_MS });
  const known = new KnownBuckets(settings.LEASE_MS, settings.REDIS_TIMEOUT_MS);
  const calls = () => bucketCalls(endpoint, breaker, known, settings, prefix, giveBackAt);
  const batches: Batches<BucketRequest, BucketAnswer> = new Batches(calls(), MAX_BATCH, answerWaited(known));
  // Opening calls (known-buckets.ts: `opens`), a bucket's first call while its isolate is not busy on
  // it, under a caller of their own, so that the bucket's next call may go out beside one: each
  // caller's calls on a bucket still go one at a time, as the script's records of them need.
  const openings: Batches<BucketRequest, BucketAnswer> = new Batches(calls(), 1);

  /**
   * When the lease ending at `untilMs` (callers' clock) has ended, gives back what is left of it,
   * unless a call for the bucket already has. Tokens not given back are left to the refill.
   */
  async function giveBackAt(key: string, tier: NamedTier, untilMs: number, { waitUntil }: BatchContext) {
    await new Promise((resolve) => setTimeout(resolve, settings.LEASE_MS));
    if (known.unspent(key, untilMs) === 0) return;
    const deadlineAt = Date.now() + settings.REDIS_TIMEOUT_MS;
    await batches.submit(key, { tier, nowMs: untilMs }, deadlineAt, waitUntil).catch((error: unknown) => {
      log.debug("lease not given back", { tier: tier.name, reason: describeFailure(error) });
    });
  }

  /**
   * Renews what the isolate knows of a busy bucket before it runs out (known-buckets.ts:
   * `renewalDue`): the next lease, taken while the one it grants from still does, or a fresh reply
   * for its certain denials. Off the request path, so that the bucket's requests never wait for
   * Redis; not while a call is out for the bucket, whose reply renews it anyway. A renewal that fails
   * is left to the next request, which goes to Redis as ever.
   */
  function renewIfDue(key: string, tier: NamedTier, cost: number, nowMs: number, waitUntil?: WaitUntil) {
    if (batches.busy(key) || !known.renewalDue(key, cost, nowMs)) return;
    const deadlineAt = Date.now() + settings.REDIS_TIMEOUT_MS;
    const renewal = batches
      .submit(key, { tier, nowMs, renew: true }, deadlineAt, waitUntil)
      .catch((error: unknown) => {
        log.debug("lease not renewed", { tier: tier.name, reason: describeFailure(error) });
      });
    waitUntil?.(renewal);
  }

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

  /**
   * Redis's decision, in the next script call for the bucket; FAIL_MODE's when Redis cannot answer.
   * With nothing out for the bucket, the call opens (`openings`) when it carries nothing of a lease;
   * while only an opening call is out, it goes beside it, with what comes in the same turn (batches.ts);
   * otherwise it waits for the call out.
   */
  async function decideInRedis(
    key: string,
    { tier, cost }: CheckInput,
    nowMs: number,
    waitUntil?: WaitUntil,
  ) {
    const deadlineAt = Date.now() + settings.REDIS_TIMEOUT_MS;
    let decided: BucketAnswer;
    try {
      const opens = !batches.busy(key) && !openings.busy(key) && known.opens(key, tier);
      const lane = opens ? openings : batches;
      decided = await lane.submit(key, { tier, cost, nowMs }, deadlineAt, waitUntil);
    } catch (error) {
      if (isEndpointFailure(error)) return unavailable(tier, error);
      throw error;
    }
    if (decided instanceof Error) throw decided;
    return decided as Decision;
  }

  return {
    forget(tierName, identifier) {
      known.forget(bucketKey(prefix, tierName, identifier));
    },

    async check(input, { nowMs = Date.now(), waitUntil } = {}) {
      const key = bucketKey(prefix, input.tier.name, input.identifier);
      // A lease or a certain denial answers before queueing behind a call that is out for the bucket.
      let decision = known.answer(key, input.tier, input.cost, nowMs);
      if (decision === undefined) decision = await decideInRedis(key, input, nowMs, waitUntil);
      else renewIfDue(key, input.tier, input.cost, nowMs, waitUntil);
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
