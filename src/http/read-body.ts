import { HTTPException } from "hono/http-exception";
import { invalidBody } from "../limiter/check-input.ts";
import type { Logger } from "../log.ts";
import { apiError } from "./errors.ts";

// For a body read as bytes. Fatal: a lenient decoder turns every bad byte into U+FFFD, so "v\xff" and
// "v\ufffd" would be one identifier, one bucket.
const utf8 = new TextDecoder("utf-8", { fatal: true, ignoreBOM: false });

const encoder = new TextEncoder();
const REPLACEMENT = "\ufffd";
const BOM = 0xfeff;

/**
 * Reads a request body as UTF-8 text of at most `maxBytes` bytes: 413 past it. A declared
 * Content-Length over the limit is refused before reading; a body without one (chunked) is counted
 * as it streams. A body that breaks off (the client hung up) is that client's problem, not the
 * Worker's: 400, logged at INFO. Bytes that are not UTF-8: 422 (but see `checkedText`). `declared`
 * is the request's Content-Length, read by the caller with its other headers: in workerd each
 * `request.headers` access builds the headers anew (a profile put it at 3% of a cached denial), so
 * the route looks at them once.
 */
export async function readBodyText(
  request: Request,
  declared: string | null,
  maxBytes: number,
  log: Logger,
): Promise<string> {
  if (declared !== null) {
    const length = Number(declared);
    if (length > maxBytes) throw tooLarge();
    // The usual case, a small body of known length: read as text, workerd's cheapest read (as bytes,
    // an ArrayBuffer, it cost a cached denial 4% more instructions).
    return checkedText(await readOrRefuse(() => request.text(), log), length, maxBytes);
  }
  if (request.body === null) return "";
  return decode(
    await readOrRefuse(() => readChunked(request.body as ReadableStream<Uint8Array>, maxBytes), log),
  );
}

/**
 * A body of `length` bytes as `request.text()` read it: a lenient decoder, which turns each bad
 * sequence into U+FFFD. So a text without U+FFFD was UTF-8, and one with it was UTF-8 only if it
 * is still `length` bytes long: a bad byte, or a sequence cut after its first or second byte, has
 * grown into U+FFFD's three. The one shape that keeps its length, a 4-byte sequence cut after its
 * third byte, reads as the U+FFFD it cannot be told from. A leading BOM is dropped, as the fatal
 * decoder of a chunked body drops it.
 */
function checkedText(text: string, length: number, maxBytes: number): string {
  if (text.includes(REPLACEMENT) && utf8Length(text) !== length) throw notUtf8();
  // Counted too, since with Transfer-Encoding the declared length says nothing of the body (RFC 9112
  // 6.3). No UTF-16 unit takes more than 3 bytes, so most bodies need no count.
  if (text.length * 3 > maxBytes && utf8Length(text) > maxBytes) throw tooLarge();
  return text.charCodeAt(0) === BOM ? text.slice(1) : text;
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

function decode(bytes: Uint8Array): string {
  try {
    return utf8.decode(bytes);
  } catch {
    throw notUtf8();
  }
}

const notUtf8 = () =>
  invalidBody(
    "Input should be a valid string, unable to parse raw data as a unicode string",
    "string_unicode",
  );

/** The bytes of `text` in UTF-8: counted only for a rare body (one with U+FFFD, or a long one). */
const utf8Length = (text: string) => encoder.encode(text).byteLength;
