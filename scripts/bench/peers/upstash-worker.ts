/**
 * The peer: a Worker built on @upstash/ratelimit as its docs advise for Cloudflare. `tokenBucket` with the
 * same capacity and refill rate as the bench's tiers, config.yaml's and the bench's own (one token every
 * window/limit ms, so the refill is as close to continuous as the algorithm allows; exactly 1 ms for the
 * bench's own tier), its ephemeral cache in a module-level Map so that it
 * outlives a request, analytics off, and a timeout equal to this project's default deadline. Like the floor,
 * it validates nothing and sets no rate-limit headers. It runs as published: the project's REST server
 * accepts the `allow-key-locking` flag its scripts carry, as Upstash does.
 */
import { Ratelimit } from "@upstash/ratelimit";
import { Redis } from "@upstash/redis/cloudflare";
import { BENCH_TIERS } from "../bench-tiers.ts";

interface UpstashEnv {
  UPSTASH_REDIS_REST_URL: string;
  UPSTASH_REDIS_REST_TOKEN: string;
}

/** The part of the Workers ExecutionContext this Worker uses. */
interface WaitUntil {
  waitUntil(promise: Promise<unknown>): void;
}

/** Kept across requests of the isolate: the denials it remembers are answered without Redis. */
const ephemeralCache = new Map<string, number>();

/** The project's default REDIS_TIMEOUT_MS: after it, @upstash/ratelimit lets the request through. */
const TIMEOUT_MS = 1000;

let limiters: Map<string, Ratelimit> | undefined;

function limitersFor(env: UpstashEnv): Map<string, Ratelimit> {
  const redis = Redis.fromEnv(env);
  const entries = BENCH_TIERS.map(({ name, ...tier }): [string, Ratelimit] => {
    const interval = `${Math.max(1, Math.round((tier.window * 1000) / tier.limit))} ms` as const;
    const limiter = new Ratelimit({
      redis,
      limiter: Ratelimit.tokenBucket(1, interval, tier.limit),
      ephemeralCache,
      prefix: `@upstash/ratelimit:${name}`,
      timeout: TIMEOUT_MS,
      analytics: false,
    });
    return [name, limiter];
  });
  return new Map(entries);
}

export default {
  async fetch(request: Request, env: UpstashEnv, ctx: WaitUntil): Promise<Response> {
    limiters ??= limitersFor(env);
    const { identifier, tier } = (await request.json()) as { identifier: string; tier: string };
    const limiter = limiters.get(tier);
    if (limiter === undefined) return new Response("unknown tier", { status: 400 });
    const { success, remaining, reset, pending } = await limiter.limit(identifier);
    ctx.waitUntil(pending);
    return new Response(JSON.stringify({ allowed: success, remaining, reset }), {
      status: success ? 200 : 429,
      headers: { "content-type": "application/json" },
    });
  },
};
