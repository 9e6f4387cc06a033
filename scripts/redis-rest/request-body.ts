import type { IncomingMessage } from "node:http";
import { HttpError, MESSAGES } from "./errors.ts";

/** Plug.Parsers' default limit, which SRH uses. @default 8_000_000 */
export const DEFAULT_BODY_LIMIT = 8_000_000;

/** A JSON number as written in the body, so `9007199254740993` reaches Redis with its exact digits. */
export class JsonNumber {
  /** The number's text in the request, e.g. `9007199254740993` or `1.5`. */
  readonly source: string;
  constructor(source: string) {
    this.source = source;
  }
}

/**
 * Reads the whole body, refusing with 413 past `limit` bytes: at once when Content-Length says so,
 * otherwise as soon as the streamed bytes pass it. The rest is then discarded as it arrives, never
 * buffered: closing the socket instead would make most clients fail with EPIPE before they read the 413.
 * Node's `requestTimeout` (300 s) bounds an endless body.
 */
export function readBody(request: IncomingMessage, limit = DEFAULT_BODY_LIMIT): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const tooLarge = () => new HttpError(413, MESSAGES.bodyTooLarge(limit));
    if (Number(request.headers["content-length"] ?? 0) > limit) return reject(tooLarge());
    const chunks: Buffer[] = [];
    let size = 0;
    const onData = (chunk: Buffer) => {
      size += chunk.length;
      if (size > limit) {
        request.off("data", onData);
        request.resume();
        reject(tooLarge());
      } else chunks.push(chunk);
    };
    request.on("data", onData);
    request.once("end", () => resolve(Buffer.concat(chunks)));
    request.once("error", reject);
  });
}

// Node 22's JSON.parse hands revivers the source text of each primitive (TC39 "JSON.parse source text
// access"); typed here because the ES2023 lib does not know the third parameter yet.
type Reviver = (this: unknown, key: string, value: unknown, context?: { source?: string }) => unknown;

const keepNumberText: Reviver = (_key, value, context) =>
  typeof value === "number" && context?.source !== undefined ? new JsonNumber(context.source) : value;

/**
 * Parses a JSON body with numbers kept as {@link JsonNumber}. An empty body is `{}`, as Plug.Parsers makes it;
 * malformed JSON is a 400 here, where SRH crashes with an empty 500.
 */
export function parseJsonBody(raw: Buffer): unknown {
  if (raw.length === 0) return {};
  const text = raw.toString("utf8");
  try {
    return JSON.parse(text, keepNumberText as (this: unknown, key: string, value: unknown) => unknown);
  } catch (error) {
    throw new HttpError(400, MESSAGES.malformedJson(error instanceof Error ? error.message : String(error)));
  }
}
