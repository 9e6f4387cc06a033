import type { Command } from "./command.ts";
import type { RedisPool } from "./pool.ts";
import { errorJson, replyToJson, slotJson } from "./reply-json.ts";
import { RespError, type RespValue } from "./resp.ts";

/** What a route answers once Redis has replied: the status and the JSON text. */
export interface JsonReply {
  status: number;
  body: string;
}

const MULTI = [Buffer.from("MULTI")];
const EXEC = [Buffer.from("EXEC")];

/** Sends commands on a shared connection, or on a dedicated one when any of them blocks. */
function run(pool: RedisPool, commands: Command[]): Promise<RespValue[]> {
  const args = commands.map((command) => command.args);
  if (commands.some((command) => command.blocking))
    return pool.dedicated((connection) => connection.send(args));
  return pool.run(args);
}

/** The reply as the client must see it: Redis's, unless the command was changed on its way. */
function clientReply(command: Command | undefined, reply: RespValue): RespValue {
  return command?.mapReply ? command.mapReply(reply) : reply;
}

/** `POST /`: 200 `{"result":…}`, or 400 `{"error":…}` with Redis's error text unchanged (NOSCRIPT too). */
export async function runSingle(pool: RedisPool, command: Command, base64: boolean): Promise<JsonReply> {
  const [redisReply = null] = await run(pool, [command]);
  const reply = clientReply(command, redisReply);
  try {
    return { status: 200, body: `{"result":${replyToJson(reply, base64)}}` };
  } catch (error) {
    if (error instanceof RespError) return { status: 400, body: errorJson(error.message) };
    throw error;
  }
}

/**
 * `POST /pipeline`: not atomic, one slot per command in order, a Redis error only fails its own slot.
 * All commands go out in one write on one connection; SRH sends them one by one, which only costs time.
 */
export async function runPipeline(pool: RedisPool, commands: Command[], base64: boolean): Promise<JsonReply> {
  const replies = await run(pool, commands);
  const slots = replies.map((reply, i) => slotJson(clientReply(commands[i], reply), base64));
  return { status: 200, body: `[${slots.join(",")}]` };
}

/**
 * `POST /multi-exec`: MULTI, the commands, EXEC on a connection of its own. As in SRH the queueing replies
 * are dropped and only EXEC's reply counts: EXECABORT (a queue-time error) is a 400. A runtime error inside
 * EXEC is an error slot with 200, as Upstash documents, where SRH crashes.
 */
export async function runMultiExec(
  pool: RedisPool,
  commands: Command[],
  base64: boolean,
): Promise<JsonReply> {
  const transaction = [MULTI, ...commands.map((command) => command.args), EXEC];
  const replies = await pool.dedicated((connection) => connection.send(transaction));
  const exec = replies.at(-1) ?? null;
  if (exec instanceof RespError) return { status: 400, body: errorJson(exec.message) };
  if (!Array.isArray(exec)) {
    // A nil EXEC means a WATCH aborted it, which no request can set up (WATCH is refused).
    return { status: 400, body: errorJson("EXECABORT Transaction aborted.") };
  }
  const slots = exec.map((reply, i) => slotJson(clientReply(commands[i], reply), base64));
  return { status: 200, body: `[${slots.join(",")}]` };
}
