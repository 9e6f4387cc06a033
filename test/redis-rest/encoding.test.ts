/** Checklist F: `Upstash-Encoding: base64` encodes every string at every depth, and nothing else. */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type Emulator, keys, SRH, startEmulator } from "./support.ts";

let emulator: Emulator;
beforeAll(async () => {
  emulator = await startEmulator();
});
afterAll(() => emulator.stop());

/** POST / with base64 on (unless told otherwise) and the raw answer. */
async function run(body: unknown, base64 = true): Promise<[number, string]> {
  const answer = await emulator.post("/", body, { base64 });
  return [answer.status, answer.text];
}

describe("base64 responses", () => {
  it("F1 F2 encodes status and bulk strings alike, null stays null", async () => {
    const key = keys();
    expect(await run(["SET", key("foo"), "bar"])).toEqual([200, '{"result":"T0s="}']);
    expect(await run(["GET", key("foo")])).toEqual([200, '{"result":"YmFy"}']);
    expect(await run(["GET", key("missing")])).toEqual([200, '{"result":null}']);
  });

  it("F3 never encodes integers", async () => {
    expect(await run(["INCR", keys()("n2")])).toEqual([200, '{"result":1}']);
  });

  it("F4 F5 F12 encodes array elements at every depth, field names included", async () => {
    const key = keys();
    await emulator.command("RPUSH", key("l2"), "a", "b");
    expect(await run(["LRANGE", key("l2"), 0, -1])).toEqual([200, '{"result":["YQ==","Yg=="]}']);
    expect(await run(["EVAL", "return {1,'a',{'b',3},false}", 0])).toEqual([
      200,
      '{"result":[1,"YQ==",["Yg==",3],null]}',
    ]);
    await emulator.command("HSET", key("h"), "a", "1", "b", "2");
    expect(await run(["HGETALL", key("h")])).toEqual([200, '{"result":["YQ==","MQ==","Yg==","Mg=="]}']);
  });

  it("F6 encodes PING's PONG and TYPE's status reply", async () => {
    const key = keys()("foo");
    await emulator.command("SET", key, "bar");
    expect(await run(["PING"])).toEqual([200, '{"result":"UE9ORw=="}']);
    expect(await run(["TYPE", key])).toEqual([200, '{"result":"c3RyaW5n"}']);
  });

  it("F7 encodes UTF-8 bytes, and the empty string as an empty string", async () => {
    const key = keys();
    await emulator.command("SET", key("e"), "€");
    expect(await run(["GET", key("e")])).toEqual([200, '{"result":"4oKs"}']);
    await emulator.command("SET", key("empty"), "");
    expect(await run(["GET", key("empty")])).toEqual([200, '{"result":""}']);
  });

  it("F8 encodes bytes that are not UTF-8", async () => {
    const key = keys();
    await emulator.command("SETRANGE", key("bin"), 0, "\u00ff");
    expect(await run(["GET", key("bin")])).toEqual([200, '{"result":"w78="}']);
    await emulator.command("EVAL", "redis.call('SET', KEYS[1], '\\255\\0\\254') return 1", 1, key("raw"));
    expect(await run(["GET", key("raw")])).toEqual([200, '{"result":"/wD+"}']);
  });

  it("F9 without base64 replaces invalid UTF-8 with U+FFFD (SRH: empty 500)", async () => {
    const key = keys()("raw");
    await emulator.command("EVAL", "redis.call('SET', KEYS[1], '\\255\\0\\254') return 1", 1, key);
    expect(await run(["GET", key], false)).toEqual([200, '{"result":"\uFFFD\\u0000\uFFFD"}']);
  });

  it("F10 never encodes errors", async () => {
    const key = keys()("s");
    await emulator.command("SET", key, "x");
    expect(await run(["LPUSH", key, "y"])).toEqual([400, SRH.wrongType]);
  });

  it("F11 encodes only for exactly `base64`", async () => {
    const key = keys()("foo");
    await emulator.command("SET", key, "bar");
    for (const value of ["BASE64", "gzip", "base64, gzip"]) {
      const answer = await emulator.post("/", ["GET", key], { headers: { "upstash-encoding": value } });
      expect([answer.status, answer.text]).toEqual([200, '{"result":"bar"}']);
    }
  });

  it("encodes strings that already look like base64, so the client never mis-decodes them", async () => {
    const key = keys()("abcd");
    await emulator.command("SET", key, "abcd");
    expect(await run(["GET", key])).toEqual([200, '{"result":"YWJjZA=="}']);
  });
});
