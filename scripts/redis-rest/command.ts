import { HttpError, MESSAGES } from "./errors.ts";
import { JsonNumber } from "./request-body.ts";
import type { RespValue } from "./resp.ts";

/** One command ready for Redis: its arguments as bytes, plus what the pool needs to know about it. */
export interface Command {
  args: Buffer[];
  /** Blocks the connection (BLPOP, XREAD BLOCK, …), so it must not hold up other requests' replies. */
  blocking: boolean;
  /** Turns Redis's reply into the client's, when the command was changed on its way (script-flags.ts). */
  mapReply?: (reply: RespValue) => RespValue;
}

// Commands that would leave state behind on a pooled connection (or take it over), which SRH lets leak into
// later requests (SRH issue #25). Refused with a 400 everywhere, /multi-exec included, where a queued
// SELECT would still change the database of a connection that is reused afterwards.
const STATEFUL = new Set(
  "SELECT MULTI EXEC DISCARD WATCH UNWATCH SUBSCRIBE PSUBSCRIBE SSUBSCRIBE UNSUBSCRIBE PUNSUBSCRIBE SUNSUBSCRIBE MONITOR QUIT RESET HELLO AUTH READONLY READWRITE ASKING SYNC PSYNC REPLCONF".split(
    " ",
  ),
);
const STATEFUL_CLIENT = new Set("REPLY SETNAME SETINFO TRACKING CACHING NO-EVICT NO-TOUCH".split(" "));
const BLOCKING = new Set(
  "BLPOP BRPOP BRPOPLPUSH BLMOVE BLMPOP BZPOPMIN BZPOPMAX BZMPOP WAIT WAITAOF".split(" "),
);

/** The body of `POST /`: a JSON array, or SRH's 400. */
export function expectCommand(body: unknown): unknown[] {
  if (!Array.isArray(body)) throw new HttpError(400, MESSAGES.commandArray);
  return body;
}

/** The body of `/pipeline` and `/multi-exec`: an array of arrays, or SRH's 400 (SRH crashes on a non-array). */
export function expectCommandList(body: unknown): unknown[][] {
  if (!Array.isArray(body) || !body.every(Array.isArray)) throw new HttpError(400, MESSAGES.pipelineArray);
  return body;
}

/**
 * Turns a JSON command into Redis arguments the way SRH's Redix does (`to_string` of each element):
 * strings as UTF-8, numbers as written, booleans as "true"/"false", null as "". Where SRH crashes (empty
 * command, object or array argument, non-string name) this is a 400, and stateful commands are refused.
 */
export function toCommand(json: unknown[]): Command {
  const [name] = json;
  if (name === undefined) throw new HttpError(400, MESSAGES.emptyCommand);
  if (typeof name !== "string") throw new HttpError(400, "ERR the command name must be a string");
  const upper = name.toUpperCase();
  const sub = typeof json[1] === "string" ? json[1].toUpperCase() : "";
  if (STATEFUL.has(upper) || (upper === "CLIENT" && STATEFUL_CLIENT.has(sub))) {
    const what = upper === "CLIENT" ? `CLIENT ${sub}` : upper;
    throw new HttpError(
      400,
      `SRH: ${what} is not supported: it would change the state of a shared connection.`,
    );
  }
  const args = json.map(toArgument);
  const blocking = BLOCKING.has(upper) || (upper.startsWith("XREAD") && json.some(isBlockOption));
  return { args, blocking };
}

function toArgument(value: unknown, index: number): Buffer {
  if (typeof value === "string") return Buffer.from(value, "utf8");
  if (value instanceof JsonNumber) return Buffer.from(numberText(value.source), "latin1");
  if (typeof value === "number") return Buffer.from(String(value), "latin1");
  if (typeof value === "boolean") return Buffer.from(value ? "true" : "false", "latin1");
  if (value === null) return Buffer.alloc(0);
  throw new HttpError(
    400,
    `ERR invalid argument at index ${index}: expected a string, number, boolean or null, not ${
      Array.isArray(value) ? "an array" : "an object"
    }`,
  );
}

/** Integers keep their digits (exact past 2^53); other numbers read as JavaScript writes them. */
function numberText(source: string): string {
  return /^-?\d+$/.test(source) ? source : String(Number(source));
}

function isBlockOption(value: unknown): boolean {
  return typeof value === "string" && value.toUpperCase() === "BLOCK";
}
