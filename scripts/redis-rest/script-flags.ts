/**
 * Upstash's `allow-key-locking` script flag (`#!lua flags=allow-key-locking`: lock only the script's KEYS, not
 * the whole database), which @upstash/ratelimit 2.2 puts on every script. Upstash accepts it; stock Redis 7,
 * and so SRH, refuses the script with `ERR Unexpected flag in script shebang: allow-key-locking`.
 * Redis runs one script at a time anyway, so the flag can go before Redis sees the text, as long as clients
 * still see the SHA-1 of the text they sent: the one createScript computes and EVALSHA names.
 */
import { createHash } from "node:crypto";
import type { Command } from "./command.ts";
import { RespError, type RespValue } from "./resp.ts";

/** `upstash`: accept the flag, as Upstash does. `strict`: pass scripts on untouched, as SRH does. */
export type ScriptFlagsMode = "upstash" | "strict";

/** The flag only Upstash knows. */
const UPSTASH_ONLY_FLAG = "allow-key-locking";

/** Prepares each command before it goes to Redis; one per server, as it remembers scripts it rewrote. */
export interface ScriptFlags {
  prepare(command: Command): Command;
}

/** SRH's behaviour: every script reaches Redis as the client sent it. */
export const strictScriptFlags: ScriptFlags = { prepare: (command) => command };

// Redis's sdssplitargs splits the shebang line on isspace() characters.
const SPACE = /[ \t\n\v\f\r]+/;

/**
 * The script without {@link UPSTASH_ONLY_FLAG}, or undefined when there is nothing to take out. Other flags stay;
 * a shebang left with no flag stays as `#!lua`, which is not the same as no shebang to Redis 7 (no shebang
 * means the pre-7 compatibility mode: EVAL_RO would then run a script that may write, for one). The newline
 * stays, so Lua's line numbers in errors do not move. A line with quotes is left to Redis, which unquotes
 * them (sdssplitargs); no known client writes one.
 * @example rewriteShebang(Buffer.from("#!lua flags=no-writes,allow-key-locking\nreturn 1")) // "#!lua flags=no-writes\nreturn 1"
 */
export function rewriteShebang(script: Buffer): Buffer | undefined {
  if (script[0] !== 0x23 || script[1] !== 0x21) return undefined; // "#!"
  const end = script.indexOf(0x0a);
  if (end < 0) return undefined; // Redis: "Invalid script shebang"
  const line = script.toString("latin1", 0, end);
  if (/["']/.test(line)) return undefined;
  const [engine, ...options] = line.split(SPACE).filter(Boolean);
  if (engine !== "#!lua") return undefined;
  let found = false;
  const kept: string[] = [];
  for (const option of options) {
    if (!option.startsWith("flags=") || option === "flags=") {
      kept.push(option);
      continue;
    }
    const flags = option.slice("flags=".length).split(",");
    const others = flags.filter((flag) => flag !== UPSTASH_ONLY_FLAG);
    found ||= others.length < flags.length;
    if (others.length > 0) kept.push(`flags=${others.join(",")}`);
  }
  if (!found) return undefined;
  return Buffer.concat([Buffer.from([engine, ...kept].join(" "), "latin1"), script.subarray(end)]);
}

const sha1 = (bytes: Buffer) => createHash("sha1").update(bytes).digest("hex");

/**
 * Upstash's behaviour: flagged scripts reach Redis without the flag, under another SHA-1, which this maps
 * back and forth. SCRIPT LOAD answers the SHA-1 of the text the client sent; EVALSHA and SCRIPT EXISTS with
 * it name the rewritten script; errors that name the script (`script: <sha>`) name it by the client's SHA-1.
 * When Redis has lost the script (SCRIPT FLUSH, a restart) or this server the pair (capacity, a restart),
 * EVALSHA gets Redis's own NOSCRIPT, so createScript falls back to EVAL, which loads both again.
 * @param capacity pairs remembered, least recently used dropped first; one per distinct flagged script.
 */
export function upstashScriptFlags(capacity = 1024): ScriptFlags {
  // Client's SHA-1 → Redis's, both lowercase. A Map iterates in insertion order, so re-inserting on use
  // keeps the least recently used first.
  const shas = new Map<string, string>();
  const remember = (original: string, stored: string) => {
    shas.delete(original);
    shas.set(original, stored);
    if (shas.size > capacity) shas.delete(shas.keys().next().value as string);
  };
  const lookup = (sha: string) => {
    const stored = shas.get(sha);
    if (stored !== undefined) remember(sha, stored);
    return stored;
  };

  /** Rewrites the script at `index`; `answersSha`: the reply is the script's SHA-1 (SCRIPT LOAD). */
  function withScript(command: Command, index: number, answersSha: boolean): Command {
    const script = command.args[index];
    const rewritten = script && rewriteShebang(script);
    if (!script || !rewritten) return command;
    const original = sha1(script);
    const stored = sha1(rewritten);
    remember(original, stored);
    const args = command.args.with(index, rewritten);
    const mapReply = (reply: RespValue) =>
      answersSha && Buffer.isBuffer(reply) ? Buffer.from(original) : renamed(reply, stored, original);
    return { ...command, args, mapReply };
  }

  /**
   * Puts Redis's SHA-1 in place of each client SHA-1 it knows among `args[from..to)`, and the client's back
   * into an error that names the script (EVALSHA's; SCRIPT EXISTS answers integers).
   */
  function withShas(command: Command, from: number, to: number): Command {
    let mapReply: Command["mapReply"];
    const args = command.args.map((arg, i) => {
      if (i < from || i >= to || arg.length !== 40) return arg;
      // Redis takes SHA-1s in any case.
      const original = arg.toString("latin1").toLowerCase();
      const stored = lookup(original);
      if (stored === undefined) return arg;
      mapReply = (reply) => renamed(reply, stored, original);
      return Buffer.from(stored, "latin1");
    });
    return mapReply === undefined ? command : { ...command, args, mapReply };
  }

  return {
    prepare(command) {
      const [name, sub] = command.args;
      const upper = name?.toString("latin1").toUpperCase();
      if (upper === "EVAL" || upper === "EVAL_RO") return withScript(command, 1, false);
      if (upper === "EVALSHA" || upper === "EVALSHA_RO") return withShas(command, 1, 2);
      if (upper !== "SCRIPT" || command.args.length < 3) return command;
      const subcommand = sub?.toString("latin1").toUpperCase();
      if (subcommand === "LOAD") return withScript(command, 2, true);
      if (subcommand === "EXISTS") return withShas(command, 2, command.args.length);
      return command;
    },
  };
}

/** An error reply names a script by its SHA-1 (`… script: <sha>, on @user_script:2.`): the client's. */
function renamed(reply: RespValue, stored: string, original: string): RespValue {
  if (!(reply instanceof RespError) || !reply.message.includes(stored)) return reply;
  return new RespError(reply.message.replaceAll(stored, original));
}
