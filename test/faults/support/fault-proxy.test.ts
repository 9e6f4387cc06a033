/** The fault proxy the test/faults suite relies on: each fault does what it says, and Redis obeys. */
import { randomUUID } from "node:crypto";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { type RedisRestServer, startRedisRestServer } from "../../../scripts/redis-rest/server.ts";
import { send } from "../../redis-rest/support.ts";
import { type FaultProxy, startFaultProxy } from "./fault-proxy.ts";
import type { Fault, ProxyStats } from "./faults.ts";
import { type RedisControl, startControlledRedis } from "./redis-control.ts";

let redis: RedisControl;
let rest: RedisRestServer;
let proxy: FaultProxy;

beforeAll(async () => {
  redis = await startControlledRedis();
  rest = await startRedisRestServer({ port: 0, redisUrl: redis.url, token: "t", log: () => {} });
  proxy = await startFaultProxy({ target: rest.url, redis });
});
afterAll(async () => {
  await proxy?.close();
  await rest?.close();
  await redis?.close();
});
afterEach(async () => {
  await control("/__reset");
  await control("/__redis/start");
});

const viaProxy = (body: unknown) =>
  send({ url: proxy.url, token: rest.token }, "/", { method: "POST", body });
const direct = (body: unknown) => send(rest, "/", { method: "POST", body });
const control = (path: string, body?: unknown) =>
  send({ url: proxy.url, token: "" }, path, { method: "POST", body: body ?? {}, authorization: null });
const setFault = (fault: Fault) => control("/__fault", fault);
const stats = async () => (await send({ url: proxy.url, token: "" }, "/__stats")).json as ProxyStats;
const counter = () => `k-${randomUUID()}`;
const incr = (key: string) => ["EVAL", "return redis.call('INCR', KEYS[1])", 1, key];

describe("the fault proxy", () => {
  it("passes requests through unchanged and counts them by kind", async () => {
    const key = counter();
    expect((await viaProxy(["PING"])).text).toBe('{"result":"PONG"}');
    expect((await viaProxy(incr(key))).json).toEqual({ result: 1 });
    expect(await stats()).toEqual({ all: 2, scripts: 1, commands: { PING: 1, EVAL: 1 } });
  });

  it("leaves other commands alone when the fault is scoped to script calls", async () => {
    await setFault({ type: "html-502", scope: "scripts" });
    expect((await viaProxy(["PING"])).status).toBe(200);
    expect((await viaProxy(incr(counter()))).status).toBe(502);
  });

  it("answers HTML 502 without forwarding", async () => {
    const key = counter();
    await setFault({ type: "html-502", scope: "all" });
    const answer = await viaProxy(incr(key));
    expect(answer.status).toBe(502);
    expect(answer.headers.get("content-type")).toBe("text/html");
    expect((await direct(["GET", key])).json).toEqual({ result: null });
  });

  it("drops the reply after Redis ran the command, for the first N requests only", async () => {
    const key = counter();
    await setFault({ type: "drop", scope: "scripts", times: 2 });
    await expect(viaProxy(incr(key))).rejects.toThrow();
    await expect(viaProxy(incr(key))).rejects.toThrow();
    expect((await viaProxy(incr(key))).json).toEqual({ result: 3 });
    expect(await stats()).toMatchObject({ all: 3, scripts: 3 });
  });

  it("delays the answer after Redis ran the command", async () => {
    const key = counter();
    await setFault({ type: "delay", ms: 300, scope: "all" });
    const started = Date.now();
    const pending = viaProxy(incr(key));
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect((await direct(["GET", key])).json).toEqual({ result: "1" });
    expect((await pending).json).toEqual({ result: 1 });
    expect(Date.now() - started).toBeGreaterThanOrEqual(290);
  });

  it("hangs without forwarding until the fault is cleared", async () => {
    const key = counter();
    await setFault({ type: "hang", scope: "all" });
    const pending = viaProxy(incr(key));
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect((await direct(["GET", key])).json).toEqual({ result: null });
    await control("/__clear");
    await expect(pending).rejects.toThrow();
    expect((await viaProxy(["PING"])).status).toBe(200);
  });

  it("garbles replies after Redis ran the command: truncated, wrong types, null", async () => {
    const key = counter();
    await setFault({ type: "truncate", scope: "all" });
    const truncated = await viaProxy(incr(key));
    expect([truncated.status, truncated.text]).toEqual([200, '{"resu']);
    await setFault({ type: "replace", body: '{"result":[1,"x"]}', scope: "all" });
    expect((await viaProxy(incr(key))).json).toEqual({ result: [1, "x"] });
    await control("/__clear");
    expect((await direct(["GET", key])).json).toEqual({ result: "2" });
  });

  it("stops, kills, pauses and restarts redis-server on the same port", async () => {
    const key = counter();
    await viaProxy(["SET", key, "1"]);
    await control("/__redis/pause");
    const paused = viaProxy(["GET", key]);
    await new Promise((resolve) => setTimeout(resolve, 200));
    await control("/__redis/resume");
    expect((await paused).json).toEqual({ result: "1" });

    for (const action of ["stop", "kill"]) {
      await control(`/__redis/${action}`);
      expect((await viaProxy(["PING"])).status).toBe(500);
      await control("/__redis/start");
      expect((await viaProxy(["PING"])).json).toEqual({ result: "PONG" });
    }
  });
});
