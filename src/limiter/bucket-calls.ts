import { maxCost, type NamedTier } from "../config/tiers.ts";
import type { Settings } from "../settings.ts";
import { type CircuitBreaker, CircuitOpenError } from "./circuit-breaker.ts";
import { withDeadline } from "./deadline.ts";
import { type Decision, decisionFrom, exemptDecision } from "./decision.ts";
import type { DenyCache } from "./deny-cache.ts";
import { describeFailure, isTransient, type RedisEndpoint } from "./redis-endpoint.ts";
import { type BatchOutcome, decodeReply, limitsText } from "./script-reply.ts";

/** One request waiting for its bucket's next script call. */
export interface BucketRequest {
  tier: NamedTier;
  cost: number;
  /** The caller's clock, ms. */
  nowMs: number;
  /** Unix ms by which its answer is due. */
  deadlineAt: number;
}

/** How long past the deadline a call's record stays in the bucket, for clocks that disagree. */
const RECORD_SLACK_MS = 1000;

/**
 * Decides a batch of requests on one bucket with one script call (see batches.ts): first what the
 * deny cache already settles, then, if the breaker lets it through, one EVALSHA for the rest, retried
 * within the oldest request's deadline under one call id (a retry of a call that ran gets its first
 * answer). The reply feeds the breaker and the deny cache. Throws when Redis cannot answer.
 */
export function bucketCalls(
  endpoint: RedisEndpoint,
  breaker: CircuitBreaker,
  denials: DenyCache,
  settings: Settings,
) {
  const retention = String(settings.REDIS_TIMEOUT_MS + RECORD_SLACK_MS);

  return async function decideBatch(key: string, requests: BucketRequest[]): Promise<Decision[]> {
    const [first] = requests as [BucketRequest];
    const { tier } = first;
    const nowMs = Math.max(...requests.map((request) => request.nowMs));
    // What an earlier reply already settles needs no call: a request alone, or queued behind one.
    const cached = requests.map(({ cost }) => denials.deny(key, tier, cost, nowMs));
    const asked = requests.filter((_, i) => cached[i] === undefined);
    if (asked.length === 0) return cached as Decision[];
    if (!breaker.tryAcquire()) throw new CircuitOpenError();

    const costs = asked.map((request) => request.cost);
    const args = [nowMs, newCallId(), retention, limitsText(tier.limits), ...costs].map(String);
    let outcome: BatchOutcome;
    try {
      outcome = await withDeadline(async () => decodeReply(await endpoint.runScript([key], args), costs), {
        deadlineAt: first.deadlineAt,
        retries: settings.REDIS_RETRIES,
        isRetryable: isTransient,
      });
    } catch (error) {
      breaker.failed(describeFailure(error));
      throw error;
    }
    breaker.succeeded();
    const decided = outcome.map(({ allowed, after }, i) =>
      after.limits.length === 0
        ? exemptDecision(maxCost(tier))
        : decisionFrom(allowed, after, costs[i] as number, (asked[i] as BucketRequest).nowMs),
    );
    const last = outcome.at(-1);
    if (last !== undefined) denials.remember(key, tier, last.after, nowMs);
    return cached.map((known) => known ?? (decided.shift() as Decision));
  };
}

// 64 random bits for this isolate, then a counter: unique across isolates, and cheap per call. Made
// at the first call: workerd allows no random values in a Worker's global scope.
let isolateId: string | undefined;
let calls = 0;

/** Names one script call and its retries, in hex (the script's record format wants [0-9a-f]). */
function newCallId(): string {
  isolateId ??= Array.from(crypto.getRandomValues(new Uint32Array(2)), (word) =>
    word.toString(16).padStart(8, "0"),
  ).join("");
  calls += 1;
  return `${isolateId}${calls.toString(16)}`;
}
