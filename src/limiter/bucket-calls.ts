import { maxCost, type NamedTier } from "../config/tiers.ts";
import type { Settings } from "../settings.ts";
import type { BatchContext } from "./batches.ts";
import { costAbove } from "./check-input.ts";
import { type CircuitBreaker, CircuitOpenError } from "./circuit-breaker.ts";
import { DeadlineExceededError, withDeadline } from "./deadline.ts";
import { type Decision, decisionFrom, exemptDecision } from "./decision.ts";
import type { CallPurpose, KnownBuckets } from "./known-buckets.ts";
import { describeFailure, isEndpointFailure, isTransient, type RedisEndpoint } from "./redis-endpoint.ts";
import { decodeReply, limitsText } from "./script-reply.ts";
import { recordKey } from "./token-bucket-script.ts";

/**
 * One request waiting for its bucket's next script call; or, asking nothing, a renewal of the
 * isolate's lease ahead of its end, or a give-back of ended leases.
 */
export interface BucketRequest {
  tier: NamedTier;
  /** Tokens asked; undefined for a renewal or a give-back. */
  cost?: number;
  /** Whether it renews the isolate's lease on the bucket (`KnownBuckets.renewalDue`). */
  renew?: boolean;
  /** The caller's clock, ms. */
  nowMs: number;
}

/** Each request's answer: its decision, or the error that says why it cannot be decided. */
export type BucketAnswer = Decision | Error | undefined;

/** How long past the deadline a call's record stays in Redis, for clocks that disagree. */
const RECORD_SLACK_MS = 1000;

/**
 * Decides a batch of requests on one bucket with one script call (see batches.ts; what the isolate
 * learnt while they queued has answered what it could, `answerWaited`): if the breaker lets it through
 * and time is left, one EVALSHA, giving back this isolate's unspent lease and asking for a new one on a
 * busy bucket, retried within the latest deadline of the batch under one call id (a retry of a call
 * that ran gets its first answer). Only failures of the endpoint count against it on the breaker.
 * Throws when Redis cannot answer.
 */
export function bucketCalls(
  endpoint: RedisEndpoint,
  breaker: CircuitBreaker,
  known: KnownBuckets,
  settings: Settings,
  prefix: string,
  /** Gives back a lease's unspent tokens once it ends at `untilMs` (callers' clock), off the request path. */
  giveBackAt: (key: string, tier: NamedTier, untilMs: number, context: BatchContext) => Promise<void>,
) {
  const retention = String(settings.REDIS_TIMEOUT_MS + RECORD_SLACK_MS);
  // By then a lease's holder has given back what it did not use, or never will (script: `out`).
  const horizon = String(2 * settings.LEASE_MS + settings.REDIS_TIMEOUT_MS + RECORD_SLACK_MS);
  const calls = callNames();

  return async function decideBatch(
    key: string,
    requests: BucketRequest[],
    context: BatchContext,
  ): Promise<BucketAnswer[]> {
    const { tier } = requests[0] as BucketRequest;
    const nowMs = Math.max(...requests.map((request) => request.nowMs));
    const asked = requests.filter(({ cost }) => cost !== undefined);
    const renews = requests.some(({ renew }) => renew);
    const purpose = purposeOf(asked.length > 0, renews, known.unspent(key, nowMs));
    if (purpose === undefined) return requests.map(() => undefined);
    // Time spent queueing is not Redis's failure: no call, and nothing for the breaker.
    if (Date.now() >= context.deadlineAt) throw new DeadlineExceededError();
    if (!breaker.tryAcquire()) throw new CircuitOpenError();

    const costs = asked.map(({ cost }) => cost as number);
    const terms = known.leaseFor(key, tier, nowMs, purpose);
    const { caller, serial } = calls.next();
    const lostRecord = terms.lost === undefined ? serial : terms.lost;
    const keys = [
      key,
      recordKey(prefix, `${caller}-${serial}`),
      recordKey(prefix, `${caller}-${lostRecord}`),
    ];
    const fixed = [
      retention,
      limitsText(tier.limits),
      terms.settled,
      terms.returned,
      terms.ended,
      terms.wanted,
      horizon,
      caller,
      serial,
      terms.lost ?? "",
      ...costs,
    ];
    let outcome: ReturnType<typeof decodeReply>;
    const sentAt = Date.now();
    try {
      outcome = await withDeadline(
        async (retry) =>
          decodeReply(
            await endpoint.runScript(keys, [nowMs, retry > 0 ? 1 : 0, ...fixed].map(String), context),
            costs,
          ),
        { deadlineAt: context.deadlineAt, retries: settings.REDIS_RETRIES, isRetryable: isTransient },
      );
    } catch (error) {
      known.lose(key, tier, serial, terms, nowMs);
      // The endpoint answered (a 4xx, a Redis error) or our own code failed: Redis is not failing.
      if (isEndpointFailure(error)) breaker.failed(describeFailure(error));
      else breaker.succeeded();
      throw error;
    }
    breaker.succeeded();
    // On the callers' clock, which read no later than the send: the lease ends no later than Redis thinks.
    known.remember(key, tier, outcome, terms, nowMs, Date.now() - sentAt);
    if (outcome.lease > 0) context.waitUntil?.(giveBackAt(key, tier, nowMs + settings.LEASE_MS, context));

    const capacity = Math.min(...outcome.state.limits.map(({ limit }) => limit));
    const decided = outcome.decisions.map(({ allowed, after }, i): Decision | Error => {
      const cost = costs[i] as number;
      if (after.limits.length === 0) return exemptDecision(maxCost(tier), "redis");
      if (cost > capacity) return costAbove(capacity);
      return decisionFrom(allowed, after, cost, (asked[i] as BucketRequest).nowMs, "redis");
    });
    return requests.map(({ cost }) => (cost === undefined ? undefined : decided.shift()));
  };
}

/**
 * What the isolate now knows of a request that waited behind a call for its bucket: a lease that came
 * back meanwhile, a certain denial, or the error that it can never be allowed; undefined when Redis
 * must decide it (and for a renewal or a give-back, which ask nothing).
 */
export function answerWaited(known: KnownBuckets) {
  return (key: string, { tier, cost, nowMs }: BucketRequest): BucketAnswer =>
    cost === undefined ? undefined : settle(() => known.answer(key, tier, cost, nowMs, false));
}

/** Why a batch's call goes out, if it must: `unspent` counts the tokens of ended leases. */
function purposeOf(decides: boolean, renews: boolean, unspent: number): CallPurpose | undefined {
  if (decides) return "decide";
  if (renews) return "renew";
  return unspent > 0 ? "give back" : undefined;
}

/** What the isolate knows answers, or the error that it can never be allowed. */
function settle(answer: () => Decision | undefined): Decision | Error | undefined {
  try {
    return answer();
  } catch (error) {
    return error as Error;
  }
}

/**
 * Names the calls of one `bucketCalls`: 64 random bits for the caller, unique across isolates, and a
 * serial per call, the same on its retries (the script's records key on both). One caller per
 * `bucketCalls`, whose calls on a bucket go one at a time (batches.ts): a limiter's opening calls
 * have a caller of their own (limiter.ts). The bits are drawn at the first call: workerd allows no
 * random values in a Worker's global scope.
 */
function callNames() {
  let caller: string | undefined;
  let serial = 0;
  return {
    next() {
      caller ??= Array.from(crypto.getRandomValues(new Uint32Array(2)), (word) =>
        word.toString(16).padStart(8, "0"),
      ).join("");
      serial += 1;
      return { caller, serial: serial.toString(16) };
    },
  };
}
