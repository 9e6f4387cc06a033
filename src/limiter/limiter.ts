import { maxCost, type NamedTier } from "../config/tiers.ts";
import type { Logger } from "../log.ts";
import type { Settings } from "../settings.ts";
import { Batches } from "./batches.ts";
import type { CheckInput } from "./check-input.ts";
import { CircuitBreaker, type CircuitState } from "./circuit-breaker.ts";
import { DeadlineExceededError, withDeadline } from "./deadline.ts";
import {
  type BatchOutcome,
  type Decision,
  decisionFrom,
  decodeReply,
  degradedDecision,
  exemptDecision,
  limitsText,
  shadowed,
  UNAVAILABLE_DETAIL,
} from "./decision.ts";
import { DenyCache } from "./deny-cache.ts";
import { createRedisEndpoint, isTransient, type RedisEndpoint } from "./redis-endpoint.ts";
import { MAX_BATCH } from "./token-bucket-script.ts";

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
  /** Redis key prefix; buckets live at `<prefix>:<tier>:<identifier>`. */
  prefix?: string;
  /** The circuit breaker's cool-down before jitter, in ms. @default 1000 */
  cooldownMs?: number;
  /** The Redis endpoint, when it is shared (with the admin API). @default one of its own */
  endpoint?: RedisEndpoint;
}

interface Request {
  tier: NamedTier;
  cost: number;
  nowMs: number;
  deadlineAt: number;
}

/** How long past the deadline a call's record stays in the bucket, for clocks that disagree. */
const RECORD_SLACK_MS = 1000;

/**
 * The limiter for one Worker environment, kept for the life of the isolate: one Redis client,
 * one breaker, one deny cache. A request is answered from the deny cache when its denial is
 * certain; otherwise it joins the next script call for its bucket (see batches.ts), which the
 * breaker may refuse. Every failure meets FAIL_MODE in `unavailable`, the one failure policy.
 */
export function createLimiter(settings: Settings, log: Logger, options: LimiterOptions = {}): Limiter {
  const prefix = options.prefix ?? "ratelimit";
  const endpoint = options.endpoint ?? createRedisEndpoint(settings);
  const breaker = new CircuitBreaker(log, { cooldownMs: options.cooldownMs });
  const denials = new DenyCache();
  const batches = new Batches<Request, Decision>(decideBatch, MAX_BATCH);
  const retention = String(settings.REDIS_TIMEOUT_MS + RECORD_SLACK_MS);

  /** Sends one script call for the requests on one bucket, and decodes each one's decision. */
  async function decideBatch(key: string, requests: Request[]): Promise<Decision[]> {
    const [first] = requests as [Request];
    const { tier } = first;
    const nowMs = Math.max(...requests.map((request) => request.nowMs));
    // The reply to the call before this one may already settle some of these.
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
      breaker.failed(describe(error));
      throw error;
    }
    breaker.succeeded();
    const decided = outcome.map(({ allowed, after }, i) =>
      after.limits.length === 0
        ? exemptDecision(maxCost(tier))
        : decisionFrom(allowed, after, costs[i] as number, (asked[i] as Request).nowMs),
    );
    const last = outcome.at(-1);
    if (last !== undefined) denials.remember(key, tier, last.after, nowMs);
    return cached.map((known) => known ?? (decided.shift() as Decision));
  }

  /** The one failure policy: FAIL_MODE decides, and the answer is marked and logged. */
  function unavailable(tier: NamedTier, error: unknown): Decision {
    const reason = describe(error);
    if (settings.FAIL_MODE === "closed") {
      log.warning("redis unavailable, request denied (FAIL_MODE=closed)", { tier: tier.name, reason });
      throw new LimiterUnavailableError({ cause: error });
    }
    log.warning("redis unavailable, request allowed unchecked (FAIL_MODE=open)", { tier: tier.name, reason });
    return degradedDecision(maxCost(tier));
  }

  async function decide({ identifier, tier, cost }: CheckInput, nowMs: number): Promise<Decision> {
    const key = `${prefix}:${tier.name}:${identifier}`;
    const certain = denials.deny(key, tier, cost, nowMs);
    if (certain !== undefined) return certain;
    if (breaker.state === "open") return unavailable(tier, new CircuitOpenError());
    const deadlineAt = Date.now() + settings.REDIS_TIMEOUT_MS;
    try {
      return await batches.submit(key, { tier, cost, nowMs, deadlineAt }, deadlineAt);
    } catch (error) {
      return unavailable(tier, error);
    }
  }

  return {
    forget(tierName, identifier) {
      denials.forget(`${prefix}:${tierName}:${identifier}`);
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
        breaker.failed(describe(error));
        log.warning("redis health check failed", { reason: describe(error) });
        return { healthy: false, circuit: breaker.state };
      }
    },
  };
}

/** The circuit is open: Redis was not asked. */
class CircuitOpenError extends Error {
  override name = "CircuitOpenError";
  constructor() {
    super("circuit open: Redis was failing, not asked");
  }
}

/** 64 random bits, in hex: names one script call and its retries. */
function newCallId(): string {
  const words = crypto.getRandomValues(new Uint32Array(2));
  return Array.from(words, (word) => word.toString(16).padStart(8, "0")).join("");
}

/** An error for the log: one line, never the command (it holds the bucket key), never long. */
function describe(error: unknown): string {
  if (error instanceof DeadlineExceededError) return error.message;
  const text = error instanceof Error ? `${error.name}: ${error.message}` : String(error);
  return (text.split(", command was:")[0] ?? text).slice(0, 200);
}
