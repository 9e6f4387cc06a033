/**
 * A Redis REST endpoint for `npm run dev` and `npm test` with nothing to install but redis-server: the one
 * in UPSTASH_REDIS_REST_URL when set (SRH from docker compose, or Upstash), otherwise a throwaway
 * redis-server with this project's SRH-compatible REST server in front of it.
 */
import { startRedisServer } from "./redis-rest/redis-process.ts";
import { startRedisRestServer } from "./redis-rest/server.ts";

export { freePort, type LocalRedisServer, startRedisServer } from "./redis-rest/redis-process.ts";

/** A Redis REST endpoint, the two values `@upstash/redis` needs, and how to let go of it. */
export interface RedisRestEndpoint {
  url: string;
  token: string;
  /** The redis-server behind it, when this process started both; unknown behind UPSTASH_REDIS_REST_URL. */
  redisUrl?: string;
  stop(): Promise<void>;
}

/**
 * redis-server on a free port, no persistence, in a fresh temp dir, plus the REST server (in this process)
 * on a free 127.0.0.1 port in front of it. stop() tears both down and removes the temp dir; also torn down
 * on process exit / SIGINT / SIGTERM.
 * @example const { url, token, stop } = await startLocalRedisRest();
 */
export async function startLocalRedisRest(
  options: { token?: string; log?: (line: string) => void } = {},
): Promise<RedisRestEndpoint & { redisUrl: string }> {
  const redis = await startRedisServer();
  try {
    const rest = await startRedisRestServer({
      port: 0,
      redisUrl: redis.url,
      token: options.token,
      log: options.log,
    });
    const stop = async () => {
      await rest.close();
      await redis.stop();
    };
    return { url: rest.url, token: rest.token, redisUrl: redis.url, stop };
  } catch (error) {
    await redis.stop();
    throw error;
  }
}

/** UPSTASH_REDIS_REST_URL (+ UPSTASH_REDIS_REST_TOKEN) from process.env when set; otherwise startLocalRedisRest(). */
export async function resolveRedisRest(): Promise<RedisRestEndpoint> {
  const url = process.env.UPSTASH_REDIS_REST_URL;
  if (!url) return startLocalRedisRest();
  const token = process.env.UPSTASH_REDIS_REST_TOKEN;
  if (!token) throw new Error("UPSTASH_REDIS_REST_URL is set but UPSTASH_REDIS_REST_TOKEN is not: set both.");
  return { url, token, stop: async () => {} };
}
