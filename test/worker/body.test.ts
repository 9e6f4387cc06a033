import { exports } from "cloudflare:workers";
import { afterEach, describe, expect, it, vi } from "vitest";
import { fetchWith, postCheck, unique } from "./helpers.ts";

afterEach(() => {
  vi.restoreAllMocks();
});

/**
 * `POST /check` with raw bytes as the body, the way a client that is not a browser may send them: with
 * a Content-Length, or as a stream (chunked, without one).
 */
const postBytes = (bytes: Uint8Array | ReadableStream<Uint8Array>) =>
  exports.default.fetch("http://limiter.test/check", {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: bytes,
  });

const utf8 = (text: string) => new TextEncoder().encode(text);

/** `bytes` as a stream of one chunk, which workerd sends without a Content-Length. */
const streamOf = (bytes: Uint8Array) =>
  new ReadableStream<Uint8Array>({
    start(controller) {
      controller.enqueue(bytes);
      controller.close();
    },
  });

describe("the body of /check as bytes", () => {
  it("answers a body that is not UTF-8 with 422, so a bad byte never becomes U+FFFD", async () => {
    const identifier = unique("bytes");
    // {"identifier":"<id>\xff"}: the same text as <id>\ufffd to a lenient decoder.
    const bad = new Uint8Array([...utf8(`{"identifier":"${identifier}`), 0xff, ...utf8('"}')]);
    const response = await postBytes(bad);
    expect(response.status).toBe(422);
    expect(await response.json()).toEqual({
      detail: [{ loc: ["body"], msg: expect.any(String), type: "string_unicode" }],
    });
    // Nothing was charged to the identifier a lenient decoder would have made of it.
    const replaced = await postCheck({ identifier: `${identifier}\ufffd` });
    expect(await replaced.json()).toMatchObject({ tokens_remaining: 99 });
  });

  it("answers every bad sequence that a lenient read would lengthen with 422", async () => {
    const sequences = {
      "a stray continuation byte": [0x80],
      "a 2-byte character cut after its first byte": [0xc3],
      "a 3-byte character cut after its second byte": [0xe2, 0x82],
      "a 4-byte character cut after its second byte": [0xf0, 0x9f],
      "an overlong encoding": [0xc0, 0x80],
      "an encoded surrogate": [0xed, 0xa0, 0x80],
    };
    for (const [shape, bad] of Object.entries(sequences)) {
      const identifier = unique("bad");
      const response = await postBytes(
        new Uint8Array([...utf8(`{"identifier":"${identifier}`), ...bad, ...utf8('"}')]),
      );
      expect(response.status, shape).toBe(422);
      expect(await response.json(), shape).toEqual({
        detail: [{ loc: ["body"], msg: expect.any(String), type: "string_unicode" }],
      });
    }
  });

  it("reads a raw U+FFFD as the character it is, the same identifier as the escaped one", async () => {
    const identifier = unique("fffd");
    const raw = await postBytes(utf8(`{"identifier":"${identifier}\ufffd"}`));
    expect(raw.status).toBe(200);
    const escaped = await postCheck(`{"identifier":"${identifier}\\ufffd"}`);
    expect(await escaped.json()).toMatchObject({ tokens_remaining: 98 });
  });

  // The price of reading with request.text(), workerd's cheapest read (read-body.ts): its decoder turns
  // F0 9F 98 into one U+FFFD, as long as EF BF BD, so nothing tells them apart.
  it("reads a 4-byte character cut after its third byte as U+FFFD, unless the body is streamed", async () => {
    const identifier = unique("cut");
    const cut = new Uint8Array([...utf8(`{"identifier":"${identifier}`), 0xf0, 0x9f, 0x98, ...utf8('"}')]);
    const read = await postBytes(cut);
    expect(read.status).toBe(200);
    const replaced = await postCheck({ identifier: `${identifier}\ufffd` });
    expect(await replaced.json()).toMatchObject({ tokens_remaining: 98 });
    // Streamed, without a Content-Length, the body is read as bytes and decoded strictly.
    expect((await postBytes(streamOf(cut))).status).toBe(422);
  });

  it("drops a byte order mark at the start of the body, sent whole or streamed", async () => {
    const body = new Uint8Array([0xef, 0xbb, 0xbf, ...utf8(`{"identifier":"${unique("bom")}"}`)]);
    expect((await postBytes(body)).status).toBe(200);
    expect((await postBytes(streamOf(body))).status).toBe(200);
  });

  it("answers a lone surrogate in the identifier with 422 naming body.identifier", async () => {
    for (const lone of ["\\ud800", "\\udfff", "\\udc00x", "x\\ud83d"]) {
      const response = await postCheck(`{"identifier":"${unique("lone")}${lone}"}`);
      expect(response.status, lone).toBe(422);
      expect(await response.json()).toEqual({
        detail: [{ loc: ["body", "identifier"], msg: expect.any(String), type: "string_unicode" }],
      });
    }
  });

  it("accepts surrogate pairs, escaped or not, as the one character they are", async () => {
    const escaped = await postCheck(`{"identifier":"${unique("pair")}\\ud83d\\ude00"}`);
    expect(escaped.status).toBe(200);
    const raw = await postBytes(utf8(`{"identifier":"${unique("pair")}😀"}`));
    expect(raw.status).toBe(200);
  });

  // Handed to the Worker in-process, so reading it throws as reading a real hung-up client's body does
  // (through exports.default.fetch, workerd would end the body early instead: a 422).
  it("answers a body that breaks off mid-way with 400, logged at INFO, not as an error", async () => {
    const errors = vi.spyOn(console, "error").mockImplementation(() => {});
    const info: string[] = [];
    vi.spyOn(console, "log").mockImplementation((line: string) => void info.push(line));
    for (const length of [undefined, "100"]) {
      const stream = new ReadableStream<Uint8Array>({
        start(controller) {
          controller.enqueue(utf8('{"identifier":"'));
        },
        pull(controller) {
          controller.error(new Error("client went away"));
        },
      });
      const headers = new Headers({ "content-type": "application/json" });
      if (length !== undefined) headers.set("content-length", length);
      const request = new Request("http://limiter.test/check", { method: "POST", headers, body: stream });
      const response = await fetchWith({ LOG_LEVEL: "INFO" }, request);
      expect(response.status).toBe(400);
      expect(await response.json()).toEqual({ detail: "Request body could not be read" });
    }
    expect(errors).not.toHaveBeenCalled();
    expect(info.map((line) => JSON.parse(line))).toEqual([
      expect.objectContaining({ level: "INFO", msg: "request body could not be read" }),
      expect.objectContaining({ level: "INFO", msg: "request body could not be read" }),
    ]);
  });
});
