import { RespError, type RespValue } from "./resp.ts";

/**
 * Writes a reply as JSON text by hand, because JSON.stringify can neither write a BigInt nor keep its digits
 * as a number: integers come out exact (64-bit), strings as base64 at every depth when `base64` is set
 * (`Upstash-Encoding: base64`), otherwise as UTF-8 with U+FFFD for bytes that are not UTF-8, as Upstash does.
 * Throws the first nested {@link RespError}: its message must not pass for a string value.
 * @example replyToJson([Buffer.from("a"), 3n], true) // '["YQ==",3]'
 */
export function replyToJson(value: RespValue, base64: boolean): string {
  if (value === null) return "null";
  if (typeof value === "bigint") return value.toString();
  if (Buffer.isBuffer(value)) {
    // Base64's alphabet needs no JSON escaping; Buffer#toString("utf8") already substitutes U+FFFD.
    return base64 ? `"${value.toString("base64")}"` : JSON.stringify(value.toString("utf8"));
  }
  if (value instanceof RespError) throw value;
  let json = "[";
  for (let i = 0; i < value.length; i++) {
    if (i > 0) json += ",";
    json += replyToJson(value[i] as RespValue, base64);
  }
  return `${json}]`;
}

/** `{"error":"…"}`; error messages are never base64-encoded. */
export function errorJson(message: string): string {
  return JSON.stringify({ error: message });
}

/**
 * One slot of a `/pipeline` or `/multi-exec` answer: `{"result":…}`, or `{"error":"…"}` when the reply is an
 * error or holds one (an EVAL inside a transaction returning `redis.error_reply`, say).
 */
export function slotJson(value: RespValue, base64: boolean): string {
  try {
    return `{"result":${replyToJson(value, base64)}}`;
  } catch (error) {
    if (error instanceof RespError) return errorJson(error.message);
    throw error;
  }
}
