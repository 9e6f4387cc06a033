/**
 * Upstash's `allow-key-locking` script flag, which stock Redis 7 (and so SRH) refuses: accepted by default, as
 * Upstash does, with the client's SHA-1s kept; refused with Redis's own error under `scriptFlags: "strict"`.
 */
import { createHash, randomUUID } from "node:crypto";
import { Redis } from "@upstash/redis";
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from "vitest";
import type { Command } from "../../scripts/redis-rest/command.ts";
import { rewriteShebang, upstashScriptFlags } from "../../scripts/redis-rest/script-flags.ts";
import { type RedisRestServer, startRedisRestServer } from "../../scripts/redis-rest/server.ts";
import {
  commandNames,
  type Emulator,
  keys,
  type RequestOptions,
  recordRequests,
  SRH,
  send,
  startEmulator,
} from "./support.ts";

let emulator: Emulator;
/** A second REST server in front of the same redis-server, behaving as SRH does. */
let strict: RedisRestServer;
beforeAll(async () => {
  emulator = await startEmulator();
  strict = await startRedisRestServer({
    port: 0,
    redisUrl: emulator.redisUrl,
    token: emulator.token,
    scriptFlags: "strict",
    log: () => {},
  });
});
afterAll(async () => {
  await strict.close();
  await emulator.stop();
});
afterEach(() => {
  vi.restoreAllMocks();
});

const sha1 = (text: string) => createHash("sha1").update(text).digest("hex");

/** A script of the test's own (a unique comment), so no test finds another's script already loaded. */
function script(body: string, flags = "allow-key-locking"): string {
  return `#!lua flags=${flags}\n${body}\n-- ${randomUUID()}`;
}

/** Redis's error for the flag, byte for byte. */
const REFUSED = '{"error":"ERR Unexpected flag in script shebang: allow-key-locking"}';

async function run(path: string, body: unknown, options?: RequestOptions): Promise<[number, string]> {
  const answer = await emulator.post(path, body, options);
  return [answer.status, answer.text];
}

async function runStrict(path: string, body: unknown): Promise<[number, string]> {
  const answer = await send(strict, path, { method: "POST", body });
  return [answer.status, answer.text];
}

function client(url = emulator.url): Redis {
  return new Redis({ url, token: emulator.token, enableTelemetry: false });
}

describe("rewriteShebang", () => {
  const rewrite = (text: string) => rewriteShebang(Buffer.from(text))?.toString();

  it("takes out allow-key-locking and keeps the other flags and the newline", () => {
    expect(rewrite("#!lua flags=allow-key-locking\nreturn 1")).toBe("#!lua\nreturn 1");
    expect(rewrite("#!lua flags=no-writes,allow-key-locking\nreturn 1")).toBe(
      "#!lua flags=no-writes\nreturn 1",
    );
    expect(rewrite("#!lua flags=allow-key-locking,no-writes\r\nreturn 1")).toBe(
      "#!lua flags=no-writes\nreturn 1",
    );
    expect(rewrite("#!lua\tflags=allow-key-locking  flags=no-cluster\n\nx")).toBe(
      "#!lua flags=no-cluster\n\nx",
    );
  });

  it("leaves what Redis would refuse anyway as it is, so Redis says why", () => {
    expect(rewrite("#!lua flags=allow-key-locking,,no-writes\n")).toBe("#!lua flags=,no-writes\n");
    expect(rewrite("#!lua flags=allow-key-locking")).toBeUndefined(); // no newline: "Invalid script shebang"
    expect(rewrite("#!js flags=allow-key-locking\n")).toBeUndefined();
  });

  it("leaves scripts without the flag untouched", () => {
    for (const text of ["return 1", "#!lua\nreturn 1", "#!lua flags=no-writes\nreturn 1", "#!lua flags=\n"]) {
      expect(rewrite(text)).toBeUndefined();
    }
    expect(rewrite('#!lua "flags=allow-key-locking"\n')).toBeUndefined(); // quoted: left to Redis
  });

  it("forgets the least recently used SHA-1 beyond its capacity, which then meets Redis's NOSCRIPT", () => {
    const scripts = upstashScriptFlags(2);
    const command = (...args: string[]): Command => ({
      args: args.map((arg) => Buffer.from(arg)),
      blocking: false,
    });
    const [a, b, c] = [script("return 'a'"), script("return 'b'"), script("return 'c'")];
    const sentSha = (sha: string) => scripts.prepare(command("EVALSHA", sha, "0")).args[1]?.toString();
    for (const text of [a, b]) scripts.prepare(command("SCRIPT", "LOAD", text));
    expect(sentSha(sha1(a))).not.toBe(sha1(a)); // a is now the most recently used
    scripts.prepare(command("EVAL", c, "0"));
    expect(sentSha(sha1(b))).toBe(sha1(b));
    expect(sentSha(sha1(a))).not.toBe(sha1(a));
    expect(sentSha(sha1(c))).not.toBe(sha1(c));
  });
});

describe("with the flag accepted (default, as Upstash)", () => {
  it("runs a flagged script by EVAL", async () => {
    const key = keys()("k");
    const text = script("return redis.call('SET', KEYS[1], ARGV[1])");
    expect(await run("/", ["EVAL", text, 1, key, "v"])).toEqual([200, '{"result":"OK"}']);
    expect(await emulator.command("GET", key)).toBe("v");
  });

  it("answers SCRIPT LOAD with the SHA-1 of the text sent, which EVALSHA and SCRIPT EXISTS then take", async () => {
    const text = script("return ARGV[1]", "allow-key-locking,no-writes");
    const sha = sha1(text);
    expect(await run("/", ["SCRIPT", "LOAD", text])).toEqual([200, `{"result":"${sha}"}`]);
    expect(await run("/", ["EVALSHA", sha, 0, "hi"])).toEqual([200, '{"result":"hi"}']);
    expect(await run("/", ["EVALSHA_RO", sha.toUpperCase(), 0, "ro"])).toEqual([200, '{"result":"ro"}']);
    const unknown = sha1(script("return 0"));
    expect(await run("/", ["SCRIPT", "EXISTS", sha, unknown])).toEqual([200, '{"result":[1,0]}']);
  });

  it("knows the SHA-1 of a script first sent by EVAL, as createScript's next EVALSHA needs", async () => {
    const text = script("return ARGV[1]");
    expect(await run("/", ["EVAL", text, 0, "first"])).toEqual([200, '{"result":"first"}']);
    expect(await run("/", ["EVALSHA", sha1(text), 0, "second"])).toEqual([200, '{"result":"second"}']);
  });

  it("keeps the other flags: no-writes still refuses a write, with Redis's error naming the client's SHA-1", async () => {
    const key = keys()("k");
    const text = script("return redis.call('SET', KEYS[1], '1')", "no-writes,allow-key-locking");
    expect(await run("/", ["EVAL", text, 1, key])).toEqual([
      400,
      `{"error":"ERR Write commands are not allowed from read-only scripts. script: ${sha1(text)}, on @user_script:2."}`,
    ]);
    expect(await emulator.command("EXISTS", key)).toBe(0);
    const read = script("return redis.call('EXISTS', KEYS[1])", "no-writes,allow-key-locking");
    expect(await run("/", ["EVAL_RO", read, 1, key])).toEqual([200, '{"result":0}']);
  });

  it("keeps `#!lua` when the flag was the only one, so the script is still no pre-7 script", async () => {
    // Without a shebang Redis would run this by EVAL_RO; with one and no no-writes flag, it refuses.
    expect(await run("/", ["EVAL_RO", script("return 1"), 0])).toEqual([
      400,
      '{"error":"ERR Can not execute a script with write flag using *_ro command."}',
    ]);
    const text = script("return undefined_global");
    expect((await run("/", ["EVAL", text, 0]))[1]).toBe(
      `{"error":"ERR user_script:2: Script attempted to access nonexistent global variable 'undefined_global' script: ${sha1(text)}, on @user_script:2."}`,
    );
  });

  it("answers NOSCRIPT, byte for byte, for a known SHA-1 after SCRIPT FLUSH, until EVAL loads it again", async () => {
    const text = script("return 7");
    const sha = sha1(text);
    await emulator.command("SCRIPT", "LOAD", text);
    await emulator.command("SCRIPT", "FLUSH");
    expect(await run("/", ["EVALSHA", sha, 0])).toEqual([400, SRH.noScript]);
    expect(await run("/", ["SCRIPT", "EXISTS", sha])).toEqual([200, '{"result":[0]}']);
    expect(await run("/", ["EVAL", text, 0])).toEqual([200, '{"result":7}']);
    expect(await run("/", ["EVALSHA", sha, 0])).toEqual([200, '{"result":7}']);
  });

  it("does the same in /pipeline, slot by slot, base64 too", async () => {
    const key = keys()("k");
    const text = script("return redis.call('INCR', KEYS[1])");
    const sha = sha1(text);
    const never = sha1(script("return 0"));
    expect(
      await run("/pipeline", [
        ["SCRIPT", "LOAD", text],
        ["EVALSHA", sha, 1, key],
        ["SCRIPT", "EXISTS", sha, never],
        ["EVALSHA", never, 0],
      ]),
    ).toEqual([200, `[{"result":"${sha}"},{"result":1},{"result":[1,0]},${SRH.noScript}]`]);
    const encoded = Buffer.from(sha).toString("base64");
    expect(await run("/pipeline", [["SCRIPT", "LOAD", text]], { base64: true })).toEqual([
      200,
      `[{"result":"${encoded}"}]`,
    ]);
  });

  it("does the same in /multi-exec", async () => {
    const key = keys()("k");
    const text = script("return redis.call('INCR', KEYS[1])");
    const sha = sha1(text);
    expect(
      await run("/multi-exec", [
        ["SCRIPT", "LOAD", text],
        ["EVALSHA", sha, 1, key],
        ["EVAL", script("return redis.call('INCR', KEYS[1])"), 1, key],
      ]),
    ).toEqual([200, `[{"result":"${sha}"},{"result":1},{"result":2}]`]);
  });

  it("lets @upstash/redis's createScript run a flagged script: EVALSHA, EVAL on NOSCRIPT, then EVALSHA only", async () => {
    const requests = recordRequests();
    const redis = client();
    const flagged = redis.createScript<string>(script("return ARGV[1]"));
    expect(await flagged.exec([], ["hi"])).toBe("hi");
    expect(commandNames(requests())).toEqual(["evalsha", "eval"]);
    expect(await flagged.exec([], ["again"])).toBe("again");
    expect(commandNames(requests())).toEqual(["evalsha", "eval", "evalsha"]);
    await redis.scriptFlush();
    expect(await flagged.exec([], ["flushed"])).toBe("flushed");
    expect(commandNames(requests()).slice(3)).toEqual(["script", "evalsha", "eval"]);
    expect(await redis.scriptLoad(flagged.script)).toBe(flagged.sha1);
  });
});

describe("with scriptFlags: strict (as SRH)", () => {
  it("refuses the flag with Redis's exact error, on / and per slot", async () => {
    const text = script("return 1");
    expect(await runStrict("/", ["EVAL", text, 0])).toEqual([400, REFUSED]);
    expect(await runStrict("/", ["SCRIPT", "LOAD", text])).toEqual([400, REFUSED]);
    expect(await runStrict("/pipeline", [["EVAL", text, 0], ["PING"]])).toEqual([
      200,
      `[${REFUSED},{"result":"PONG"}]`,
    ]);
    expect(await runStrict("/", ["EVALSHA", sha1(text), 0])).toEqual([400, SRH.noScript]);
    expect(await runStrict("/", ["EVAL", script("return 2", "no-writes"), 0])).toEqual([200, '{"result":2}']);
  });

  it("makes @upstash/redis's createScript fail on a flagged script, and run one without the flag", async () => {
    const redis = client(strict.url);
    const flagged = redis.createScript(script("return 1"));
    // Auto-pipelined: the slot's error, which the client prefixes with "Command failed: ".
    await expect(flagged.exec([], [])).rejects.toThrow(
      "Command failed: ERR Unexpected flag in script shebang: allow-key-locking",
    );
    expect(await redis.createScript<number>(script("return 2", "no-writes")).exec([], [])).toBe(2);
  });
});
