import type { Limit, NamedTier } from "../config/tiers.ts";
import type { Settings } from "../settings.ts";
import { withDeadline } from "./deadline.ts";
import { bucketFigures } from "./decision.ts";
import { isTransient, type RedisEndpoint } from "./redis-endpoint.ts";
import { limitsText, parseLimits, refilledAt } from "./script-reply.ts";
import { bucketKey } from "./token-bucket-script.ts";

/** An operator's limits for one identifier on one tier, in place of the tier's, or none at all. */
export type Override = { exempt: true } | { limits: Limit[] };

export interface OverrideEntry {
  tier: string;
  identifier: string;
  override: Override;
}

/** A bucket as the admin API shows it: each limit's tokens now (refilled), and what governs it. */
export interface BucketView {
  tier: string;
  identifier: string;
  override: Override | null;
  buckets: Array<{
    limit: number;
    window: number;
    tokens: number;
    tokens_remaining: number;
    reset_at: number;
  }>;
  /** Unix time in seconds of the buckets' last refill; null for a bucket never written (full). */
  updated_at: number | null;
}

// Each admin change is one atomic script: the override sits in the bucket's hash, where the
// token-bucket script reads it for free, and in an index hash, from which the admin API lists them.
// Setting or deleting an override starts the buckets afresh (full) under the limits that now apply:
// counts kept from other limits would mean something else under these.
const SET_OVERRIDE = `
redis.call('DEL', KEYS[1])
redis.call('HSET', KEYS[1], 'override', ARGV[2])  -- no TTL: a bucket with an override never expires
return redis.call('HSET', KEYS[2], ARGV[1], ARGV[2])`;

const DELETE_OVERRIDE = `
local removed = redis.call('HDEL', KEYS[2], ARGV[1])
if removed == 1 then redis.call('DEL', KEYS[1]) end
return removed`;

const RESET_BUCKET = `
local override = redis.call('HGET', KEYS[1], 'override')
local existed = redis.call('DEL', KEYS[1])
if override then redis.call('HSET', KEYS[1], 'override', override) end
return existed`;

const READ_HASH = `return redis.call('HGETALL', KEYS[1])`;

/** Overrides and bucket inspection for the admin API, on the limiter's Redis and key layout. */
export function createOverrides(endpoint: RedisEndpoint, prefix: string, settings: Settings) {
  const index = `${prefix}:overrides`;
  const keyOf = (tier: string, identifier: string) => bucketKey(prefix, tier, identifier);
  const run = (script: string, keys: string[], args: string[] = []) =>
    withDeadline(() => endpoint.evalScript(script, keys, args), {
      deadlineAt: Date.now() + settings.REDIS_TIMEOUT_MS,
      retries: settings.REDIS_RETRIES,
      isRetryable: isTransient,
    });
  const readHash = async (key: string) => hashOf(await run(READ_HASH, [key]));

  return {
    /** Replaces the identifier's limits on `tier` (its buckets start full under them), or exempts it. */
    async set(tier: NamedTier, identifier: string, override: Override): Promise<void> {
      const text = "exempt" in override ? "exempt" : limitsText(override.limits);
      await run(SET_OVERRIDE, [keyOf(tier.name, identifier), index], [`${tier.name}:${identifier}`, text]);
    },

    /** By tier name: an override outlives its tier's removal from config.yaml. */
    async get(tierName: string, identifier: string): Promise<Override | undefined> {
      const text = (await readHash(keyOf(tierName, identifier))).override;
      return text === undefined ? undefined : overrideOf(text);
    },

    async list(): Promise<OverrideEntry[]> {
      return Object.entries(await readHash(index)).map(([field, text]) => {
        // Tier names hold no ':', so the first one ends the tier.
        const split = field.indexOf(":");
        return {
          tier: field.slice(0, split),
          identifier: field.slice(split + 1),
          override: overrideOf(text),
        };
      });
    },

    /**
     * Whether there was an override to delete. The bucket starts afresh under the tier's limits. By
     * tier name, like `get`: an override on a tier config.yaml no longer has must still be deleted.
     */
    async delete(tierName: string, identifier: string): Promise<boolean> {
      const key = keyOf(tierName, identifier);
      return (await run(DELETE_OVERRIDE, [key, index], [`${tierName}:${identifier}`])) === 1;
    },

    async bucket(tier: NamedTier, identifier: string, nowMs: number): Promise<BucketView> {
      const hash = await readHash(keyOf(tier.name, identifier));
      const override = hash.override === undefined ? null : overrideOf(hash.override);
      const applied = override === null ? tier.limits : "limits" in override ? override.limits : [];
      const limits = parseLimits(applied.length === 0 ? "exempt" : limitsText(applied));
      const storedAt = hash.ts === undefined ? undefined : Number(hash.ts);
      // The script's field names: `tokens` for one bucket, `tokens:<window ms>` for several.
      const field = (windowMs: number) => (limits.length === 1 ? "tokens" : `tokens:${windowMs}`);
      const stored = limits.map(({ limit, windowMs }) => Number(hash[field(windowMs)] ?? limit));
      const tokens = refilledAt({ limits, tokens: stored, timeMs: storedAt ?? nowMs }, nowMs);
      const figures = bucketFigures({ limits, tokens, timeMs: nowMs });
      const buckets = figures.map(({ limit, window, remaining, resetAt }, i) => ({
        limit,
        window,
        tokens: tokens[i] as number,
        tokens_remaining: remaining,
        reset_at: resetAt,
      }));
      return {
        tier: tier.name,
        identifier,
        override,
        buckets,
        updated_at: storedAt === undefined ? null : storedAt / 1000,
      };
    },

    /** Fills the bucket again (keeping any override); whether there was state to forget. */
    async reset(tier: NamedTier, identifier: string): Promise<boolean> {
      return (await run(RESET_BUCKET, [keyOf(tier.name, identifier)])) === 1;
    },
  };
}

export type Overrides = ReturnType<typeof createOverrides>;

function overrideOf(text: string): Override {
  if (text === "exempt") return { exempt: true };
  return { limits: parseLimits(text).map(({ limit, windowMs }) => ({ limit, window: windowMs / 1000 })) };
}

/** HGETALL's flat [field, value, ...] reply as an object. */
function hashOf(reply: unknown): Record<string, string> {
  const flat = Array.isArray(reply) ? reply.map(String) : [];
  const hash: Record<string, string> = {};
  for (let i = 0; i + 1 < flat.length; i += 2) hash[flat[i] as string] = flat[i + 1] as string;
  return hash;
}
