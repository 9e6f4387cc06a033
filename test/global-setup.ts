import type { TestProject } from "vitest/node";
import { resolveRedisRest } from "../scripts/local-redis.ts";

declare module "vitest" {
  export interface ProvidedContext {
    redisRestUrl: string;
    redisRestToken: string;
  }
}

/**
 * Gives the Worker tests a Redis REST endpoint: `UPSTASH_REDIS_REST_URL` when set, otherwise a
 * `redis-server` on a free port with the project's REST server in front, stopped after the run.
 */
export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const endpoint = await resolveRedisRest();
  project.provide("redisRestUrl", endpoint.url);
  project.provide("redisRestToken", endpoint.token);
  return endpoint.stop;
}
