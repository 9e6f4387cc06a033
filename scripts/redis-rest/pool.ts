import { type ConnectionTimeouts, RedisConnection } from "./connection.ts";
import { parseRedisUrl, type RedisTarget, setupCommands } from "./redis-url.ts";
import type { RespValue } from "./resp.ts";

/** Options of {@link RedisPool}. */
export interface PoolOptions extends Partial<ConnectionTimeouts> {
  /** `redis://[[user]:password@]host[:port][/db]`, or `rediss://` for TLS. */
  url: string;
  /** Shared connections for `/` and `/pipeline`. @default 4 */
  size?: number;
}

/**
 * Connections to one redis-server. Shared connections carry single commands and pipelines, pipelined
 * on the Redis side; dedicated ones carry whatever changes connection state for a while (MULTI … EXEC,
 * blocking commands), so no other request ever lands on a connection inside MULTI (SRH issue #25).
 * Dead connections are dropped and replaced lazily on the next request, so Redis may come and go.
 * @example const pool = new RedisPool({ url: "redis://127.0.0.1:6379" });
 */
export class RedisPool {
  readonly #target: RedisTarget;
  readonly #setup: string[][];
  readonly #timeouts: ConnectionTimeouts;
  readonly #shared: (RedisConnection | undefined)[];
  /** Clean connections back from dedicated use, ready for the next one. */
  readonly #spare: RedisConnection[] = [];
  readonly #leased = new Set<RedisConnection>();
  #closing = false;

  constructor(options: PoolOptions) {
    this.#target = parseRedisUrl(options.url);
    this.#setup = setupCommands(this.#target);
    this.#timeouts = {
      connectTimeoutMs: options.connectTimeoutMs ?? 1000,
      commandTimeoutMs: options.commandTimeoutMs ?? 5000,
    };
    this.#shared = new Array(options.size ?? 4).fill(undefined);
  }

  /** Runs commands on a shared connection, written in one go; resolves with one reply per command. */
  run(commands: readonly Buffer[][]): Promise<RespValue[]> {
    return this.#pickShared().send(commands);
  }

  /**
   * Lends a connection that nobody else uses while `use` runs. It goes back to the spares only when `use`
   * succeeds, i.e. the connection is known to be back in its normal state; otherwise it is closed.
   */
  async dedicated<T>(use: (connection: RedisConnection) => Promise<T>): Promise<T> {
    this.#assertOpen();
    let connection = this.#spare.pop();
    while (connection?.dead) connection = this.#spare.pop();
    connection ??= this.#connect();
    this.#leased.add(connection);
    try {
      const result = await use(connection);
      if (!connection.dead && !this.#closing && this.#spare.length < this.#shared.length) {
        this.#spare.push(connection);
      } else void connection.destroy();
      return result;
    } catch (error) {
      void connection.destroy();
      throw error;
    } finally {
      this.#leased.delete(connection);
    }
  }

  /** Closes every connection; requests in flight reject with RedisUnavailableError. */
  async close(): Promise<void> {
    this.#closing = true;
    const all = [...this.#shared, ...this.#spare.splice(0), ...this.#leased];
    this.#shared.fill(undefined);
    await Promise.all(all.map((connection) => connection?.destroy("the REST server is shutting down")));
  }

  /** The live connection with the fewest requests in flight; opens another while a slot is free. */
  #pickShared(): RedisConnection {
    this.#assertOpen();
    let best: RedisConnection | undefined;
    let freeSlot = -1;
    for (let i = 0; i < this.#shared.length; i++) {
      const connection = this.#shared[i];
      if (!connection || connection.dead) {
        if (freeSlot < 0) freeSlot = i;
      } else if (!best || connection.pendingCount < best.pendingCount) best = connection;
    }
    if (best && (best.pendingCount === 0 || freeSlot < 0)) return best;
    if (freeSlot < 0) throw new Error("unreachable: no connection and no free slot");
    const connection = this.#connect();
    this.#shared[freeSlot] = connection;
    return connection;
  }

  #connect(): RedisConnection {
    return new RedisConnection(this.#target, this.#timeouts, this.#setup);
  }

  #assertOpen(): void {
    if (this.#closing) throw new Error("the Redis pool is closed");
  }
}
