/** Checklist D (`POST /` results) and E (`POST /` errors), plus the limits where SRH would crash. */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type Emulator, keys, SRH, startEmulator } from "./support.ts";

let emulator: Emulator;
beforeAll(async () => {
  emulator = await startEmulator();
});
afterAll(() => emulator.stop());

/** POST / and the raw answer text, for exact comparisons. */
async function run(body: unknown): Promise<[number, string]> {
  const answer = await emulator.post("/", body);
  return [answer.status, answer.text];
}

const SHA_RETURN_1 = "e0e1f9fabfc9d4800c877a703b823ac0578ff8db";

describe("results", () => {
  it("D1-D3 sets and gets a string, and answers a missing key with result null", async () => {
    const key = keys();
    expect(await run(["SET", key("foo"), "bar"])).toEqual([200, '{"result":"OK"}']);
    expect(await run(["GET", key("foo")])).toEqual([200, '{"result":"bar"}']);
    expect(await run(["GET", key("missing")])).toEqual([200, '{"result":null}']);
  });

  it("D4-D6 answers integers as numbers and lists and hashes as flat arrays", async () => {
    const key = keys();
    expect(await run(["INCR", key("n")])).toEqual([200, '{"result":1}']);
    expect(await run(["RPUSH", key("l"), "a", "b"])).toEqual([200, '{"result":2}']);
    expect(await run(["LRANGE", key("l"), 0, -1])).toEqual([200, '{"result":["a","b"]}']);
    expect(await run(["HSET", key("h"), "a", "1", "b", "2"])).toEqual([200, '{"result":2}']);
    expect(await run(["HGETALL", key("h")])).toEqual([200, '{"result":["a","1","b","2"]}']);
  });

  it("D7 sends float arguments as written and answers scores as strings", async () => {
    const key = keys();
    expect(await run(["ZADD", key("z"), 1.5, "m"])).toEqual([200, '{"result":1}']);
    expect(await run(["ZSCORE", key("z"), "m"])).toEqual([200, '{"result":"1.5"}']);
  });

  it("D8 keeps nested Lua tables, false as null and true as 1", async () => {
    expect(await run(["EVAL", "return {1,'a',{'b',3},false,true}", 0])).toEqual([
      200,
      '{"result":[1,"a",["b",3],null,1]}',
    ]);
  });

  it("D9 stores true as 'true' and null as ''", async () => {
    const key = keys();
    await emulator.command("SET", key("t"), true);
    expect(await run(["GET", key("t")])).toEqual([200, '{"result":"true"}']);
    await emulator.command("SET", key("u"), null);
    expect(await run(["GET", key("u")])).toEqual([200, '{"result":""}']);
  });

  it("D10 keeps 64-bit integers exact, in arguments and in results", async () => {
    const key = keys();
    expect(await run(["INCRBY", key("big"), "9007199254740993"])).toEqual([
      200,
      '{"result":9007199254740993}',
    ]);
    // A JSON number past 2^53 too: JSON.parse alone would have rounded it to ...992.
    expect(await emulator.post("/", `["INCRBY","${key("big2")}",9007199254740993]`)).toMatchObject({
      status: 200,
      text: '{"result":9007199254740993}',
    });
    expect(await run(["INCRBY", key("big2"), "9223372036854775000"])).toEqual([
      400,
      '{"error":"ERR increment or decrement would overflow"}',
    ]);
    expect(await run(["SET", key("max"), "9223372036854775807"])).toEqual([200, '{"result":"OK"}']);
    expect(await run(["DECR", key("max")])).toEqual([200, '{"result":9223372036854775806}']);
  });

  it("D11 round-trips UTF-8", async () => {
    expect(await run(["PING"])).toEqual([200, '{"result":"PONG"}']);
    expect(await run(["ECHO", "héllo €"])).toEqual([200, '{"result":"héllo €"}']);
  });

  it("D12 answers SCAN with a string cursor and a key list", async () => {
    const key = keys();
    await emulator.command("SET", key("scan"), "1");
    const answer = await emulator.post("/", ["SCAN", 0, "MATCH", key("*"), "COUNT", 1000]);
    expect(answer.json).toEqual({ result: [expect.any(String), [key("scan")]] });
  });

  it("D13 passes numeric options: SET … EX 100, then TTL", async () => {
    const key = keys();
    await emulator.command("SET", key("k"), "v", "EX", 100);
    const ttl = await emulator.command("TTL", key("k"));
    expect(ttl).toBeGreaterThanOrEqual(1);
    expect(ttl).toBeLessThanOrEqual(100);
  });

  it("D14 D15 E2 loads a script, runs it by sha, and passes NOSCRIPT through once flushed", async () => {
    expect(await run(["SCRIPT", "LOAD", "return 1"])).toEqual([200, `{"result":"${SHA_RETURN_1}"}`]);
    expect(await run(["EVALSHA", SHA_RETURN_1, 0])).toEqual([200, '{"result":1}']);
    await emulator.command("SCRIPT", "FLUSH");
    expect(await run(["EVALSHA", SHA_RETURN_1, 0])).toEqual([400, SRH.noScript]);
  });
});

describe("errors", () => {
  it("E1 E3 passes Redis errors through as 400", async () => {
    const key = keys();
    await emulator.command("SET", key("s"), "x");
    expect(await run(["LPUSH", key("s"), "y"])).toEqual([400, SRH.wrongType]);
    expect(await run(["INCR", key("s")])).toEqual([400, SRH.notInteger]);
  });

  it("E4-E6 passes arity, unknown-command and script errors through verbatim", async () => {
    expect(await run(["GET"])).toEqual([
      400,
      '{"error":"ERR wrong number of arguments for \'get\' command"}',
    ]);
    expect(await run(["FOO"])).toEqual([
      400,
      '{"error":"ERR unknown command \'FOO\', with args beginning with: "}',
    ]);
    expect(await run(["EVAL", "return redis.error_reply('MYERR custom')", 0])).toEqual([
      400,
      '{"error":"MYERR custom"}',
    ]);
  });

  it("fails the whole command when a script nests an error reply in its result", async () => {
    expect(await run(["EVAL", "return {1, redis.error_reply('INNER oops')}", 0])).toEqual([
      400,
      '{"error":"INNER oops"}',
    ]);
  });

  it("E7-E9 wants an array body: not an object, a string or nothing", async () => {
    for (const body of ["{}", '"SET"', ""]) expect(await run(body)).toEqual([400, SRH.commandArray]);
  });

  it("E10 answers malformed JSON with a 400 JSON error (SRH: empty 500)", async () => {
    const [status, text] = await run("not json");
    expect(status).toBe(400);
    expect(JSON.parse(text)).toEqual({ error: expect.stringMatching(/^SRH: Malformed JSON body: /) });
  });

  it("E11 answers an empty command with 400 ERR empty command (SRH: empty 500)", async () => {
    expect(await run([])).toEqual([400, '{"error":"ERR empty command"}']);
  });

  it("refuses objects, nested arrays and a non-string name with a 400 (SRH: empty 500)", async () => {
    const key = keys()("o");
    const object = await run(["SET", key, { a: 1 }]);
    expect(object).toEqual([
      400,
      '{"error":"ERR invalid argument at index 2: expected a string, number, boolean or null, not an object"}',
    ]);
    expect((await run(["SET", key, ["a"]]))[0]).toBe(400);
    expect(await run([1, 2])).toEqual([400, '{"error":"ERR the command name must be a string"}']);
    expect(await emulator.command("EXISTS", key)).toBe(0);
  });

  it("refuses commands that would change a shared connection's state", async () => {
    for (const command of [
      ["SELECT", 1],
      ["multi"],
      ["WATCH", "k"],
      ["SUBSCRIBE", "c"],
      ["client", "reply", "off"],
    ]) {
      const [status, text] = await run(command);
      expect(status).toBe(400);
      expect(JSON.parse(text).error).toMatch(
        /^SRH: (SELECT|MULTI|WATCH|SUBSCRIBE|CLIENT REPLY) is not supported/,
      );
    }
    // Harmless CLIENT subcommands still work, and the connection still reads database 0.
    expect((await run(["CLIENT", "ID"]))[0]).toBe(200);
  });

  it("answers a body over 8,000,000 bytes with 413 JSON instead of reading it", async () => {
    const body = `["ECHO","${"x".repeat(8_000_000)}"]`;
    expect(await run(body)).toEqual([
      413,
      '{"error":"SRH: Request body too large. The limit is 8000000 bytes."}',
    ]);
    // A body just under the limit still goes through.
    const fits = await run(`["SET","${keys()("fits")}","${"y".repeat(7_999_000)}"]`);
    expect(fits).toEqual([200, '{"result":"OK"}']);
  });

  it("answers a streamed body that grows past the limit with 413 as well", async () => {
    const chunk = new TextEncoder().encode(`"${"x".repeat(1_000_000)}",`);
    let sent = 0;
    const stream = new ReadableStream<Uint8Array>({
      pull(controller) {
        if (sent === 0) controller.enqueue(new TextEncoder().encode('["ECHO",'));
        if (sent++ < 20) controller.enqueue(chunk);
        else controller.close();
      },
    });
    const response = await fetch(emulator.url, {
      method: "POST",
      headers: { "content-type": "application/json", authorization: `Bearer ${emulator.token}` },
      body: stream,
      duplex: "half",
    } as RequestInit);
    expect([response.status, await response.text()]).toEqual([
      413,
      '{"error":"SRH: Request body too large. The limit is 8000000 bytes."}',
    ]);
  });
});
