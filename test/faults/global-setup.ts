import { randomUUID } from "node:crypto";
import type { TestProject } from "vitest/node";
import { startRedisRestServer } from "../../scripts/redis-rest/server.ts";
import "../provided-context.ts";
import { startFaultProxy } from "./support/fault-proxy.ts";
import { startControlledRedis } from "./support/redis-control.ts";

/**
 * The fault tests' own stack, since they stop and kill Redis: a redis-server on a free port, the REST
 * server in front of it, and the fault proxy in front of that. All stopped after the run.
 */
export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const redis = await startControlledRedis();
  const rest = await startRedisRestServer({
    port: 0,
    redisUrl: redis.url,
    token: `faults-${randomUUID()}`,
    // A paused Redis holds requests this long before the REST server answers 500 and lets go of them.
    commandTimeoutMs: 2000,
    log: () => {},
  });
  const proxy = await startFaultProxy({ target: rest.url, redis });

  project.provide("faultProxyUrl", proxy.url);
  project.provide("faultRestUrl", rest.url);
  project.provide("faultRestToken", rest.token);

  return async () => {
    await proxy.close();
    await rest.close();
    await redis.close();
  };
}
