import { exports } from "cloudflare:workers";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { bodyArb, expectedStatus, uniquePrefixer } from "../check-properties.ts";

// Enough cases to find a stray 500, few enough to keep the file at a few seconds.
const RUNS = 150;
const TIMEOUT_MS = 60_000;

const encode = (text: string) => new TextEncoder().encode(text);
const lenientUtf8 = new TextDecoder("utf-8", { fatal: false, ignoreBOM: true });

/**
 * The text the Worker reads from a body of these bytes sent with its length (read-body.ts): read
 * leniently, as `request.text()` reads, and refused (undefined) when that reading is not as long as
 * the bytes, as it is not when a bad sequence grew into U+FFFD. A leading BOM is dropped.
 */
function textOf(bytes: Uint8Array): string | undefined {
  const text = lenientUtf8.decode(bytes);
  if (encode(text).length !== bytes.length) return undefined;
  return text.startsWith("\ufeff") ? text.slice(1) : text;
}

/** `POST /check` with these bytes and exactly this content type (none when undefined). */
function post(body: Uint8Array | ReadableStream<Uint8Array>, contentType?: string) {
  const headers: Record<string, string> = contentType === undefined ? {} : { "content-type": contentType };
  return exports.default.fetch("http://limiter.test/check", { method: "POST", headers, body });
}

/** The answer's status and body, failing the property when the body is not JSON. */
async function answer(response: Response): Promise<{ status: number; body: unknown }> {
  expect(response.headers.get("content-type")).toMatch(/^application\/json/);
  return { status: response.status, body: JSON.parse(await response.text()) };
}

/** What the Worker must answer these bytes, read as SPEC says: JSON unless another content type is given. */
function expectedFor(bytes: Uint8Array, contentType: string | undefined) {
  const json = contentType === undefined || /^application\/(json|[^/]+\+json)$/.test(contentType);
  if (!json) return 422;
  const text = textOf(bytes);
  if (text === undefined) return 422; // not UTF-8
  try {
    return expectedStatus(JSON.parse(text));
  } catch {
    return 422; // not JSON
  }
}

describe("POST /check, for any body", () => {
  it(
    "answers 200 exactly when the body is valid, 400 or 422 otherwise, always in JSON",
    async () => {
      await fc.assert(
        fc.asyncProperty(bodyArb(uniquePrefixer("any-body")), async (body) => {
          const text = JSON.stringify(body);
          const { status, body: json } = await answer(await post(encode(text), "application/json"));
          expect(status).toBe(expectedStatus(JSON.parse(text)));
          expect(json).toEqual(
            status === 200 ? expect.objectContaining({ allowed: true }) : { detail: expect.anything() },
          );
        }),
        { numRuns: RUNS },
      );
    },
    TIMEOUT_MS,
  );

  it(
    "answers any bytes, under any content type, with a 4xx unless they are a valid JSON body",
    async () => {
      const bytes = fc.oneof(
        fc.uint8Array({ maxLength: 64 }),
        fc.string({ unit: "binary", maxLength: 64 }).map(encode),
        bodyArb(uniquePrefixer("any-bytes")).map((body) => encode(JSON.stringify(body))),
      );
      const contentType = fc.constantFrom(
        undefined,
        "application/json",
        "application/merge-patch+json",
        "text/plain",
        "application/x-www-form-urlencoded",
      );
      await fc.assert(
        fc.asyncProperty(bytes, contentType, async (body, type) => {
          const { status } = await answer(await post(body, type));
          expect(status).toBe(expectedFor(body, type));
        }),
        { numRuns: RUNS },
      );
    },
    TIMEOUT_MS,
  );

  it(
    "answers 413 to every body over 4 KiB, with a Content-Length or streamed without one",
    async () => {
      const uniquify = uniquePrefixer("size");
      const size = fc.oneof(fc.constantFrom(4095, 4096, 4097), fc.integer({ min: 3000, max: 10_000 }));
      const chunk = fc.integer({ min: 1, max: 2048 });
      await fc.assert(
        fc.asyncProperty(size, fc.boolean(), chunk, async (bytes, streamed, chunkSize) => {
          const json = encode(JSON.stringify({ identifier: uniquify("x") }));
          const body = new Uint8Array(bytes).fill(0x20); // JSON allows any whitespace after the value
          body.set(json);
          const sent = streamed ? chunked(body, chunkSize) : body;
          const { status, body: detail } = await answer(await post(sent, "application/json"));
          expect(status).toBe(bytes > 4096 ? 413 : 200);
          if (status === 413) expect(detail).toEqual({ detail: "Request body too large" });
        }),
        { numRuns: 60 },
      );
    },
    TIMEOUT_MS,
  );
});

describe("buckets", () => {
  it(
    "never lets two different valid identifiers share one",
    async () => {
      const valid = (identifier: string) => expectedStatus({ identifier }) === 200;
      const identifier = fc
        .oneof(
          fc.string({ unit: "grapheme", minLength: 1, maxLength: 6 }),
          fc.string({ unit: "binary", minLength: 1, maxLength: 6 }),
          // Strings a lenient decoder, a normaliser or a case fold would merge.
          fc.constantFrom(
            "v\ufffd",
            "v",
            "\ufffd",
            "é",
            "e\u0301",
            "ﬁ",
            "fi",
            "A",
            "a",
            "ß",
            "ss",
            "🙂",
            "\ufeffv",
          ),
        )
        .filter(valid);
      const uniquify = uniquePrefixer("pair");
      await fc.assert(
        fc.asyncProperty(
          fc.tuple(identifier, identifier).filter(([a, b]) => a !== b),
          async ([a, b]) => {
            const prefix = uniquify("");
            const spend = await post(
              encode(JSON.stringify({ identifier: prefix + a, cost: 100 })),
              "application/json",
            );
            expect(await spend.json()).toMatchObject({ allowed: true, tokens_remaining: 0 });
            const peek = await post(
              encode(JSON.stringify({ identifier: prefix + b, cost: 0 })),
              "application/json",
            );
            expect(await peek.json()).toMatchObject({ allowed: true, tokens_remaining: 100 });
          },
        ),
        { numRuns: 100 },
      );
    },
    TIMEOUT_MS,
  );
});

/** The bytes as a stream of `size`-byte chunks: a body with no Content-Length to trust. */
function chunked(bytes: Uint8Array, size: number): ReadableStream<Uint8Array> {
  let offset = 0;
  return new ReadableStream({
    pull(controller) {
      if (offset >= bytes.length) return controller.close();
      controller.enqueue(bytes.slice(offset, offset + size));
      offset += size;
    },
  });
}
