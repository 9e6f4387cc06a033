/** The pure parts without Redis: RESP2 parsing across arbitrary chunk borders, and the JSON it becomes. */
import { describe, expect, it } from "vitest";
import { replyToJson, slotJson } from "../../scripts/redis-rest/reply-json.ts";
import { encodeCommand, RespError, RespParser } from "../../scripts/redis-rest/resp.ts";

const WIRE = Buffer.concat([
  Buffer.from("+OK\r\n:-9223372036854775808\r\n$-1\r\n*-1\r\n$0\r\n\r\n"),
  Buffer.from("$4\r\n\xff\x00\r\n\r\n", "latin1"),
  Buffer.from("*3\r\n:1\r\n*2\r\n$1\r\nb\r\n-ERR inner\r\n$3\r\nend\r\n-NOSCRIPT No matching script.\r\n"),
]);

const EXPECTED = [
  Buffer.from("OK"),
  -9223372036854775808n,
  null,
  null,
  Buffer.alloc(0),
  Buffer.from("\xff\x00\r\n", "latin1"),
  [1n, [Buffer.from("b"), new RespError("ERR inner")], Buffer.from("end")],
  new RespError("NOSCRIPT No matching script."),
];

describe("RespParser", () => {
  it("parses every reply type losslessly in one chunk", () => {
    expect(new RespParser().push(WIRE)).toEqual(EXPECTED);
  });

  it("gives the same replies however the bytes are split", () => {
    for (const size of [1, 2, 3, 7, 16]) {
      const parser = new RespParser();
      const replies = [];
      for (let i = 0; i < WIRE.length; i += size) replies.push(...parser.push(WIRE.subarray(i, i + size)));
      expect(replies).toEqual(EXPECTED);
    }
  });

  it("waits for a large bulk string arriving in many chunks", () => {
    const value = Buffer.alloc(100_000, 0x61);
    const wire = Buffer.concat([Buffer.from(`$${value.length}\r\n`), value, Buffer.from("\r\n:7\r\n")]);
    const parser = new RespParser();
    const replies = [];
    for (let i = 0; i < wire.length; i += 4096) replies.push(...parser.push(wire.subarray(i, i + 4096)));
    expect(replies).toEqual([value, 7n]);
  });

  it("refuses bytes that are not RESP", () => {
    expect(() => new RespParser().push(Buffer.from("HTTP/1.1 400\r\n"))).toThrow(/protocol error/);
  });
});

describe("encodeCommand", () => {
  it("writes an array of bulk strings with byte lengths", () => {
    expect(encodeCommand([Buffer.from("SET"), Buffer.from("€")]).toString("latin1")).toBe(
      Buffer.from("*2\r\n$3\r\nSET\r\n$3\r\n€\r\n").toString("latin1"),
    );
  });
});

describe("replyToJson", () => {
  it("writes integers exactly and strings as UTF-8 or base64", () => {
    expect(replyToJson([9007199254740993n, Buffer.from('a"€'), null], false)).toBe(
      '[9007199254740993,"a\\"€",null]',
    );
    expect(replyToJson([[Buffer.from("a")], Buffer.alloc(0)], true)).toBe('[["YQ=="],""]');
  });

  it("turns a nested error into an error slot, unencoded", () => {
    expect(slotJson([Buffer.from("x"), [new RespError("ERR é")]], true)).toBe('{"error":"ERR é"}');
    expect(slotJson(new RespError("WRONGTYPE x"), true)).toBe('{"error":"WRONGTYPE x"}');
  });
});
