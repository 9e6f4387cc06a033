/** Checklist J: the real `@upstash/redis` client, Node and Cloudflare entries, against the emulator. */
import { Redis, type RedisConfigNodejs } from "@upstash/redis";
import { Redis as CloudflareRedis } from "@upstash/redis/cloudflare";
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from "vitest";
import { freePort } from "../../scripts/local-redis.ts";
import { commandNames, type Emulator, keys, recordRequests, startEmulator } from "./support.ts";

let emulator: Emulator;
beforeAll(async () => {
  emulator = await startEmulator();
});
afterAll(() => emulator.stop());
afterEach(() => {
  vi.restoreAllMocks();
  vi.unstubAllEnvs();
});

function client(options: Partial<RedisConfigNodejs> = {}): Redis {
  return new Redis({ url: emulator.url, token: emulator.token, enableTelemetry: false, ...options });
}

describe("@upstash/redis", () => {
  it("J1 works from UPSTASH_REDIS_REST_URL/TOKEN and round-trips JSON values", async () => {
    vi.stubEnv("UPSTASH_REDIS_REST_URL", emulator.url);
    vi.stubEnv("UPSTASH_REDIS_REST_TOKEN", emulator.token);
    const redis = Redis.fromEnv();
    const key = keys()("k");
    expect(await redis.set(key, { a: 1 })).toBe("OK");
    expect(await redis.get(key)).toEqual({ a: 1 });
  });

  it("J2 auto-pipelines concurrent commands through /pipeline, writes and reads in separate batches", async () => {
    const requests = recordRequests();
    const redis = client();
    const key = keys();
    await redis.set(key("x"), 1);
    const [set, value, count] = await Promise.all([
      redis.set(key("x"), 2),
      redis.get(key("x")),
      redis.incr(key("c")),
    ]);
    expect([set, count]).toEqual(["OK", 1]);
    expect([1, 2]).toContain(value);
    const sent = requests();
    expect(sent.map((request) => request.path)).toEqual(["/pipeline", "/pipeline", "/pipeline"]);
    const batches = sent.slice(1).map((request) => commandNames([request]));
    expect(batches).toContainEqual(["set", "incr"]);
    expect(batches).toContainEqual(["get"]);
  });

  it("J3 sends each command to POST / without auto-pipelining; Redis errors become UpstashError", async () => {
    const requests = recordRequests();
    const redis = client({ enableAutoPipelining: false });
    const key = keys()("s");
    await redis.set(key, "x");
    const error = await redis.lpush(key, "y").catch((caught: unknown) => caught);
    expect(error).toMatchObject({ name: "UpstashError" });
    expect((error as Error).message).toMatch(
      /^WRONGTYPE Operation against a key holding the wrong kind of value, command was: \[/,
    );
    expect(requests().map((request) => request.path)).toEqual(["/", "/"]);
  });

  it("J4 runs a script by EVALSHA, falls back to EVAL on NOSCRIPT once, then EVALSHA only", async () => {
    const requests = recordRequests();
    const script = client().createScript<string>(`return ARGV[1] -- ${keys()("unique")}`);
    expect(await script.exec([], ["hi"])).toBe("hi");
    expect(commandNames(requests())).toEqual(["evalsha", "eval"]);
    expect(await script.exec([], ["again"])).toBe("again");
    expect(commandNames(requests())).toEqual(["evalsha", "eval", "evalsha"]);
  });

  it("J5 runs multi() through /multi-exec and pipeline() through /pipeline", async () => {
    const requests = recordRequests();
    const redis = client();
    const key = keys()("a");
    expect(await redis.multi().set(key, "1").incr(key).exec()).toEqual(["OK", 2]);
    expect(await redis.pipeline().set(key, "5").get(key).exec()).toEqual(["OK", 5]);
    expect(requests().map((request) => request.path)).toEqual(["/multi-exec", "/pipeline"]);
  });

  it("J6 rejects with Invalid token for a wrong token", async () => {
    await expect(client({ token: "wrong" }).get("k")).rejects.toThrow(/Invalid token/);
  });

  it("J7 round-trips ASCII and emoji without base64", async () => {
    const redis = client({ responseEncoding: false });
    const key = keys();
    await redis.set(key("ascii"), "plain text");
    await redis.set(key("emoji"), "héllo 👋🏽 €");
    expect(await redis.get(key("ascii"))).toBe("plain text");
    expect(await redis.get(key("emoji"))).toBe("héllo 👋🏽 €");
  });

  it("J8 decodes hgetall to an object, zrange withScores to a flat array, scan to a tuple", async () => {
    const redis = client();
    const key = keys();
    await redis.hset(key("h"), { a: 1, b: "two" });
    expect(await redis.hgetall(key("h"))).toEqual({ a: 1, b: "two" });
    await redis.zadd(key("z"), { score: 1.5, member: "m" }, { score: 3, member: "n" });
    expect(await redis.zrange(key("z"), 0, -1, { withScores: true })).toEqual(["m", 1.5, "n", 3]);
    const [cursor, found] = await redis.scan(0, { match: key("*"), count: 1000 });
    expect(typeof cursor).toBe("string");
    expect(found.sort()).toEqual([key("h"), key("z")]);
  });

  it("J9 keeps digits a number cannot hold as a string", async () => {
    const redis = client();
    const key = keys()("big");
    await redis.set(key, "123456789012345678901");
    expect(await redis.get(key)).toBe("123456789012345678901");
  });

  it("J10 retries a fetch that fails, then rejects with the fetch error", async () => {
    const url = `http://127.0.0.1:${await freePort()}`;
    const requests = recordRequests();
    const retrying = new Redis({
      url,
      token: "t",
      retry: { retries: 1, backoff: () => 10 },
      enableAutoPipelining: false,
    });
    await expect(retrying.get("k")).rejects.toThrow(/fetch failed/);
    expect(requests()).toHaveLength(2);
    const once = new Redis({ url, token: "t", retry: false, enableAutoPipelining: false });
    await expect(once.get("k")).rejects.toThrow(/fetch failed/);
    expect(requests()).toHaveLength(4);
  });

  it("J11 gives up with TimeoutError when the answer takes longer than the signal allows", async () => {
    const redis = client({ enableAutoPipelining: false, signal: () => AbortSignal.timeout(50) });
    // BLPOP holds the answer for 300 ms on the server side.
    await expect(redis.exec(["blpop", keys()("empty"), 0.3])).rejects.toMatchObject({ name: "TimeoutError" });
    expect(await client().ping()).toBe("PONG");
  });

  it("J12 works through @upstash/redis/cloudflare's fromEnv with a Worker-style env", async () => {
    const redis = CloudflareRedis.fromEnv(
      { UPSTASH_REDIS_REST_URL: emulator.url, UPSTASH_REDIS_REST_TOKEN: emulator.token },
      { enableTelemetry: false },
    );
    const key = keys()("cf");
    expect(await redis.set(key, "v")).toBe("OK");
    expect(await redis.get(key)).toBe("v");
  });
});
