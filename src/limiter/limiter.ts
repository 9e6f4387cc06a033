import { Redis } from "@upstash/redis/cloudflare";
import type { NamedTier } from "../config/tiers.ts";
import type { Logger } from "../log.ts";
import type { Settings } from "../settings.ts";
import { withDeadline } from "./deadline.ts";
import { type Decision, decodeReply, degradedDecision, UNAVAILABLE_DETAIL } from "./decision.ts";
import { TOKEN_BUCKET_SCRIPT } from "./token-bucket-script.ts";

/** What a caller asks: may `identifier` on `tier` spend `cost` tokens (0 peeks)? */
export interface CheckInput {
  identifier: string;
  tier: NamedTier;
  cost: number;
}

/** Redis could not answer in time and FAIL_MODE is closed. Its message is the HTTP `detail`. */
export class LimiterUnavailableError extends Error {
  override name = "LimiterUnavailableError";
  constructor(options?: ErrorOptions) {
    super(UNAVAILABLE_DETAIL, options);
  }
}

/** Decides requests against Redis, and applies FAIL_MODE when Redis cannot answer. */
export interface Limiter {
  /** One round trip to Redis. Throws `LimiterUnavailableError` when Redis fails and FAIL_MODE is closed. */
  check(input: CheckInput, nowMs?: number): Promise<Decision>;
  /** Whether Redis answers a PING within the deadline. */
  isHealthy(): Promise<boolean>;
}

export interface LimiterOptions {
  /** Redis key prefix; buckets live at `<prefix>:<tier>:<identifier>`. */
  prefix?: string;
}

/**
 * The limiter for one Worker environment. A Redis client is made per call because its abort
 * signal is fixed when it is made, and each call has its own deadline. The client's own retries
 * are off: ours run inside the deadline, and also retry error answers from the REST endpoint,
 * which the client never retries.
 */
export function createLimiter(settings: Settings, log: Logger, options: LimiterOptions = {}): Limiter {
  const prefix = options.prefix ?? "ratelimit";
  const deadline = { timeoutMs: settings.REDIS_TIMEOUT_MS, retries: settings.REDIS_RETRIES };
  const redisFor = (signal: AbortSignal) =>
    new Redis({
      url: settings.UPSTASH_REDIS_REST_URL,
      token: settings.UPSTASH_REDIS_REST_TOKEN,
      retry: { retries: 0 },
      signal: () => signal,
      enableAutoPipelining: false,
      readYourWrites: false,
      enableTelemetry: false,
    });

  return {
    async check({ identifier, tier, cost }, nowMs = Date.now()) {
      const key = `${prefix}:${tier.name}:${identifier}`;
      const args = [tier.limit, Math.round(tier.window * 1000), nowMs, cost].map(String);
      try {
        const reply = await withDeadline(
          (signal) => redisFor(signal).createScript(TOKEN_BUCKET_SCRIPT).exec([key], args),
          deadline,
        );
        const decision = decodeReply(reply, tier, nowMs);
        log.debug("decision", { tier: tier.name, cost, allowed: decision.allowed });
        return decision;
      } catch (error) {
        const reason = describe(error);
        if (settings.FAIL_MODE === "closed") {
          log.warning("redis unavailable, request denied (FAIL_MODE=closed)", { tier: tier.name, reason });
          throw new LimiterUnavailableError({ cause: error });
        }
        log.warning("redis unavailable, request allowed unchecked (FAIL_MODE=open)", {
          tier: tier.name,
          reason,
        });
        return degradedDecision(tier);
      }
    },

    async isHealthy() {
      try {
        return (await withDeadline((signal) => redisFor(signal).ping(), deadline)) === "PONG";
      } catch (error) {
        log.warning("redis health check failed", { reason: describe(error) });
        return false;
      }
    },
  };
}

/** An error for the log, without the command the client appends (it holds the bucket key). */
function describe(error: unknown): string {
  const text = error instanceof Error ? `${error.name}: ${error.message}` : String(error);
  return text.split(", command was:")[0] ?? text;
}
