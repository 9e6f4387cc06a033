import { HTTPException } from "hono/http-exception";
import { invalidBody } from "../limiter/check-input.ts";
import type { Logger } from "../log.ts";
import { apiError } from "./errors.ts";

// Fatal: a lenient decoder turns every bad byte into U+FFFD, so "v\xff" and "v\ufffd" would be
// one identifier, one bucket.
const utf8 = new TextDecoder("utf-8", { fatal: true, ignoreBOM: false });

/**
 * Reads a request body as UTF-8 text of at most `maxBytes` bytes: 413 past it. A declared
 * Content-Length over the limit is refused before reading; a small declared one is read at once and
 * its bytes counted, since with Transfer-Encoding the declared length says nothing of the body (RFC
 * 9112 6.3); a body without one (chunked) is counted as it streams. A body that breaks off (the
 * client hung up) is that client's problem, not the Worker's: 400, logged at INFO. Bytes that are
 * not UTF-8: 422. `declared` is the request's Content-Length, read by the caller with its other
 * headers: in workerd each `request.headers` access builds the headers anew (a profile put it at 3%
 * of a cached denial), so the route looks at them once.
 */
export async function readBodyText(
  request: Request,
  declared: string | null,
  maxBytes: number,
  log: Logger,
): Promise<string> {
  if (declared !== null) {
    if (Number(declared) > maxBytes) throw tooLarge();
    // The usual case, a small body of known length: one read, no stream loop.
    const bytes = await readOrRefuse(() => request.arrayBuffer(), log);
    if (bytes.byteLength > maxBytes) throw tooLarge();
    return decode(bytes);
  }
  if (request.body === null) return "";
  return decode(
    await readOrRefuse(() => readChunked(request.body as ReadableStream<Uint8Array>, maxBytes), log),
  );
}

const tooLarge = () => apiError(413, "Request body too large");

/** A chunked body, counted as it streams and refused once past `maxBytes`. */
async function readChunked(body: ReadableStream<Uint8Array>, maxBytes: number): Promise<Uint8Array> {
  const chunks: Uint8Array[] = [];
  let size = 0;
  const reader = body.getReader();
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    size += value.byteLength;
    if (size > maxBytes) {
      reader.cancel().catch(() => {});
      throw tooLarge();
    }
    chunks.push(value);
  }

  const bytes = new Uint8Array(size);
  let offset = 0;
  for (const chunk of chunks) {
    bytes.set(chunk, offset);
    offset += chunk.byteLength;
  }
  return bytes;
}

/** Reads the body; one that breaks off (the client hung up) is that client's problem: 400, at INFO. */
async function readOrRefuse<T>(read: () => Promise<T>, log: Logger): Promise<T> {
  try {
    return await read();
  } catch (error) {
    if (error instanceof HTTPException) throw error;
    log.info("request body could not be read", { error: String(error).slice(0, 200) });
    throw apiError(400, "Request body could not be read");
  }
}

function decode(bytes: ArrayBuffer | Uint8Array): string {
  try {
    return utf8.decode(bytes);
  } catch {
    throw invalidBody(
      "Input should be a valid string, unable to parse raw data as a unicode string",
      "string_unicode",
    );
  }
}
