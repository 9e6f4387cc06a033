/**
 * Counts the commands Redis ran, from `INFO commandstats`, on a connection of its own straight to
 * redis-server (not through the REST server, which would count itself). Redis counts a script's own
 * commands (HMGET, HSET, ...) as well as the EVALSHA or EVAL that ran them.
 */
import { RedisConnection } from "../redis-rest/connection.ts";
import { parseRedisUrl, setupCommands } from "../redis-rest/redis-url.ts";
import { RespError, type RespValue } from "../redis-rest/resp.ts";

/** `calls` per command name, e.g. `{ evalsha: 3000, hmget: 3000, ... }`. */
export type CommandCounts = Record<string, number>;

/** Sum of all calls. */
export const totalCalls = (counts: CommandCounts) => Object.values(counts).reduce((sum, n) => sum + n, 0);

/** A direct connection that resets and reads Redis's command statistics. */
export interface RedisStats {
  /** CONFIG RESETSTAT: counting starts from zero. */
  reset(): Promise<void>;
  /** The commands run since the last reset, leaving out this connection's own CONFIG and INFO. */
  read(): Promise<CommandCounts>;
  close(): Promise<void>;
}

/** A connection of its own straight to redis-server at `redisUrl` (`redis://host:port`). */
export function connectDirect(redisUrl: string): RedisConnection {
  const target = parseRedisUrl(redisUrl);
  return new RedisConnection(
    target,
    { connectTimeoutMs: 1000, commandTimeoutMs: 5000 },
    setupCommands(target),
  );
}

/** Connects to redis-server at `redisUrl` (`redis://host:port`). */
export function connectRedisStats(redisUrl: string): RedisStats {
  const connection = connectDirect(redisUrl);
  const call = async (...args: string[]): Promise<RespValue> => {
    const [reply] = await connection.send([args.map((arg) => Buffer.from(arg))]);
    if (reply instanceof RespError) throw new Error(`${args.join(" ")}: ${reply.message}`);
    return reply ?? null;
  };
  return {
    async reset() {
      await call("CONFIG", "RESETSTAT");
    },
    async read() {
      const text = String(await call("INFO", "commandstats"));
      const counts: CommandCounts = {};
      // Lines like `cmdstat_evalsha:calls=3000,usec=...`; subcommands read `cmdstat_config|resetstat`.
      for (const [, name, calls] of text.matchAll(/^cmdstat_([^:]+):calls=(\d+)/gm)) {
        if (name === undefined || /^(config|info)\b/.test(name)) continue;
        counts[name] = Number(calls);
      }
      return counts;
    },
    close: () => connection.destroy("bench done"),
  };
}
