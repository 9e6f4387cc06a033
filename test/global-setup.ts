import { createServer, type Server, type Socket } from "node:net";
import type { TestProject } from "vitest/node";
import { type RedisRestEndpoint, resolveRedisRest } from "../scripts/local-redis.ts";
import { type RedisRestServer, startRedisRestServer } from "../scripts/redis-rest/server.ts";
import "./provided-context.ts";

/**
 * Gives the Worker tests a Redis REST endpoint: `UPSTASH_REDIS_REST_URL` when set, otherwise a
 * `redis-server` on a free port with the project's REST server in front, stopped after the run.
 * Also a second REST server over that Redis that refuses Upstash's script flag as SRH does, and the two
 * broken endpoints the failure tests need.
 */
export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const endpoint = await resolveRedisRest();
  let strict: RedisRestServer | undefined;
  try {
    strict = await startStrictFlags(endpoint);
  } catch (error) {
    await endpoint.stop();
    throw error;
  }
  const held = new Set<Socket>();
  const hanging = await listen(createServer((socket) => held.add(socket)));
  const refusing = await listen(createServer());
  const refusingUrl = urlOf(refusing);
  await close(refusing);

  project.provide("redisRestUrl", endpoint.url);
  project.provide("redisRestToken", endpoint.token);
  project.provide("strictFlagsRestUrl", strict?.url);
  project.provide("refusingUrl", refusingUrl);
  project.provide("hangingUrl", urlOf(hanging));

  return async () => {
    for (const socket of held) socket.destroy();
    await close(hanging);
    await strict?.close();
    await endpoint.stop();
  };
}

/**
 * The REST server with `scriptFlags: "strict"` in front of the local redis-server: `#!lua
 * flags=allow-key-locking` gets Redis's "Unexpected flag" error there, as from SRH, for the tests of a Worker
 * that falls back to unflagged scripts. Behind an external UPSTASH_REDIS_REST_URL there is none: its Redis is
 * out of reach, and whether that endpoint refuses the flag (SRH) or accepts it (Upstash) is unknown, so
 * `strictFlagsRestUrl` stays undefined and those tests skip rather than pass on a guess.
 */
async function startStrictFlags(endpoint: RedisRestEndpoint): Promise<RedisRestServer | undefined> {
  if (endpoint.redisUrl === undefined) return undefined;
  return startRedisRestServer({
    port: 0,
    redisUrl: endpoint.redisUrl,
    token: endpoint.token,
    scriptFlags: "strict",
  });
}

function listen(server: Server): Promise<Server> {
  return new Promise((resolve) => server.listen(0, "127.0.0.1", () => resolve(server)));
}

function close(server: Server): Promise<void> {
  return new Promise((resolve) => server.close(() => resolve()));
}

function urlOf(server: Server): string {
  const address = server.address();
  if (address === null || typeof address === "string") throw new Error("server has no TCP address");
  return `http://127.0.0.1:${address.port}`;
}
