import { createServer, type Server, type Socket } from "node:net";
import type { TestProject } from "vitest/node";
import { resolveRedisRest } from "../scripts/local-redis.ts";
import "./provided-context.ts";

/**
 * Gives the Worker tests a Redis REST endpoint: `UPSTASH_REDIS_REST_URL` when set, otherwise a
 * `redis-server` on a free port with the project's REST server in front, stopped after the run.
 * Also the two broken endpoints the failure tests need.
 */
export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const endpoint = await resolveRedisRest();
  const held = new Set<Socket>();
  const hanging = await listen(createServer((socket) => held.add(socket)));
  const refusing = await listen(createServer());
  const refusingUrl = urlOf(refusing);
  await close(refusing);

  project.provide("redisRestUrl", endpoint.url);
  project.provide("redisRestToken", endpoint.token);
  project.provide("refusingUrl", refusingUrl);
  project.provide("hangingUrl", urlOf(hanging));

  return async () => {
    for (const socket of held) socket.destroy();
    await close(hanging);
    await endpoint.stop();
  };
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
