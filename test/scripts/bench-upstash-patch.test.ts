import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { buildPeer } from "../../scripts/bench/builds.ts";
import { patchUpstashRatelimit, SHEBANG } from "../../scripts/bench/upstash-patch.ts";
import { type LocalRedisServer, startRedisServer } from "../../scripts/local-redis.ts";
import { RedisConnection } from "../../scripts/redis-rest/connection.ts";
import { parseRedisUrl } from "../../scripts/redis-rest/redis-url.ts";
import { RespError } from "../../scripts/redis-rest/resp.ts";

describe("the bench's patch of @upstash/ratelimit", () => {
  let redis: LocalRedisServer;
  let connection: RedisConnection;
  const call = async (...args: string[]) => {
    const [reply] = await connection.send([args.map((arg) => Buffer.from(arg))]);
    return reply instanceof RespError ? reply : String(reply);
  };

  beforeAll(async () => {
    redis = await startRedisServer();
    connection = new RedisConnection(parseRedisUrl(redis.url), {
      connectTimeoutMs: 1000,
      commandTimeoutMs: 5000,
    });
  });
  afterAll(async () => {
    await connection?.destroy("test done");
    await redis?.stop();
  });

  it("is needed: stock Redis refuses the scripts as the package ships them", async () => {
    const [first] = patchUpstashRatelimit().rehashed;
    expect(first?.script.startsWith(SHEBANG)).toBe(true);
    const reply = await call("SCRIPT", "LOAD", first?.script ?? "");
    expect(reply).toBeInstanceOf(RespError);
    expect((reply as RespError).message).toMatch(/Unexpected flag in script shebang/);
  });

  it("gives each shortened script the SHA-1 that Redis computes for it", async () => {
    const { rehashed } = patchUpstashRatelimit();
    expect(rehashed.length).toBeGreaterThan(0);
    for (const { script, newHash } of rehashed) {
      expect(await call("SCRIPT", "LOAD", script.slice(SHEBANG.length))).toBe(newHash);
    }
  });

  it("leaves neither the flag nor an old SHA-1 in the bundled Worker, and every new one", async () => {
    const patch = patchUpstashRatelimit();
    const { script } = await buildPeer("upstash-worker.ts", [patch.plugin]);
    expect(script).not.toContain("allow-key-locking");
    expect(patch.stripped).toBe(patch.rehashed.length);
    for (const { hash, newHash } of patch.rehashed) {
      expect(script).not.toContain(hash);
      expect(script).toContain(newHash);
    }
  });
});
