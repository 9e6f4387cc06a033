/** E12 and G10: Redis going away and coming back, and a Redis that never answers, without a REST restart. */
import { createServer, type Socket } from "node:net";
import { afterAll, describe, expect, it } from "vitest";
import { type LocalRedisServer, startRedisServer } from "../../scripts/local-redis.ts";
import { type RedisRestServer, startRedisRestServer } from "../../scripts/redis-rest/server.ts";
import { SRH, send } from "./support.ts";

const cleanups: (() => Promise<void>)[] = [];
afterAll(async () => {
  for (const cleanup of cleanups.reverse()) await cleanup();
});

async function restServer(redisUrl: string, commandTimeoutMs?: number): Promise<RedisRestServer> {
  const server = await startRedisRestServer({ port: 0, redisUrl, commandTimeoutMs, log: () => {} });
  cleanups.push(server.close);
  return server;
}

async function redisServer(port?: number): Promise<LocalRedisServer> {
  const redis = await startRedisServer({ port });
  cleanups.push(redis.stop);
  return redis;
}

async function post(server: RedisRestServer, path: string, body: unknown): Promise<[number, string]> {
  const answer = await send(server, path, { method: "POST", body });
  return [answer.status, answer.text];
}

describe("Redis going away", () => {
  it("E12 G10 answers 500 while Redis is down and recovers on its own once it is back", async () => {
    const redis = await redisServer();
    const server = await restServer(redis.url);
    expect(await post(server, "/", ["SET", "k", "before"])).toEqual([200, '{"result":"OK"}']);

    await redis.stop();
    expect(await post(server, "/", ["GET", "k"])).toEqual([500, SRH.unavailable]);
    expect(await post(server, "/pipeline", [["PING"], ["PING"]])).toEqual([500, SRH.unavailable]);
    expect(await post(server, "/multi-exec", [["PING"]])).toEqual([500, SRH.unavailable]);
    // Still answered, and fast: a refused connection is not retried inside the request.
    expect(await post(server, "/", ["PING"])).toEqual([500, SRH.unavailable]);

    await redisServer(redis.port);
    expect(await post(server, "/", ["SET", "k", "after"])).toEqual([200, '{"result":"OK"}']);
    expect(await post(server, "/pipeline", [["GET", "k"]])).toEqual([200, '[{"result":"after"}]']);
    expect(await post(server, "/multi-exec", [["GET", "k"]])).toEqual([200, '[{"result":"after"}]']);
  });

  it("fails a request in flight with the 500 connection JSON when Redis dies under it", async () => {
    const redis = await redisServer();
    const server = await restServer(redis.url);
    const blocked = post(server, "/", ["BLPOP", "empty", 5]);
    // Wait until Redis reports the blocked client, then pull the plug.
    const started = Date.now();
    while (Date.now() - started < 2000) {
      const [, info] = await post(server, "/", ["INFO", "clients"]);
      if (/blocked_clients:1/.test(info)) break;
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
    await redis.stop();
    expect(await blocked).toEqual([500, SRH.unavailable]);
  });

  it("starts before Redis does, since it connects only on the first request", async () => {
    const redis = await redisServer();
    await redis.stop();
    const server = await restServer(redis.url);
    expect(await post(server, "/", ["PING"])).toEqual([500, SRH.unavailable]);
    await redisServer(redis.port);
    expect(await post(server, "/", ["PING"])).toEqual([200, '{"result":"PONG"}']);
  });
});

describe("Redis not answering", () => {
  it("answers 500 JSON after the command timeout instead of hanging", async () => {
    const held = new Set<Socket>();
    const silent = createServer((socket) => held.add(socket));
    await new Promise<void>((resolve) => silent.listen(0, "127.0.0.1", resolve));
    cleanups.push(async () => {
      for (const socket of held) socket.destroy();
      await new Promise<void>((resolve) => silent.close(() => resolve()));
    });
    const address = silent.address();
    const port = typeof address === "object" && address ? address.port : 0;
    const server = await restServer(`redis://127.0.0.1:${port}`, 150);

    const started = Date.now();
    const answers = await Promise.all([
      post(server, "/", ["PING"]),
      post(server, "/pipeline", [["PING"]]),
      post(server, "/multi-exec", [["PING"]]),
    ]);
    for (const answer of answers)
      expect(answer).toEqual([500, '{"error":"SRH: Redis did not answer within 150 ms."}']);
    expect(Date.now() - started).toBeLessThan(1000);
  });
});
