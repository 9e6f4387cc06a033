import net from "node:net";
import tls from "node:tls";
import type { RedisTarget } from "./redis-url.ts";
import { encodeCommand, RespError, RespParser, type RespValue } from "./resp.ts";

/** Redis could not be reached, or the connection died with requests in flight: the 500 connection JSON. */
export class RedisUnavailableError extends Error {
  override name = "RedisUnavailableError";
}

/** Redis did not answer in time. The connection is dropped, since later replies on it queue behind this one. */
export class RedisTimeoutError extends Error {
  override name = "RedisTimeoutError";
}

/** Timeouts of one connection, in milliseconds. */
export interface ConnectionTimeouts {
  /** @default 1000 in the pool */
  connectTimeoutMs: number;
  /** @default 5000 in the pool, like SRH (Redix and GenServer call timeouts) */
  commandTimeoutMs: number;
}

interface Pending {
  count: number;
  replies: RespValue[];
  timer: NodeJS.Timeout | undefined;
  done(error: Error | undefined, replies: RespValue[]): void;
}

/**
 * One RESP2 connection with pipelining: requests are written as soon as they come, and replies are matched
 * to them in FIFO order, so concurrent requests share the connection without waiting for each other.
 * It never reconnects; the pool replaces a dead connection with a new one.
 */
export class RedisConnection {
  readonly #socket: net.Socket;
  readonly #parser = new RespParser();
  readonly #pending: Pending[] = [];
  readonly #timeouts: ConnectionTimeouts;
  readonly #closed: Promise<void>;
  #failure: Error | undefined;

  /** Connects at once; `setup` commands (AUTH, SELECT) go first and any error reply kills the connection. */
  constructor(target: RedisTarget, timeouts: ConnectionTimeouts, setup: readonly string[][] = []) {
    this.#timeouts = timeouts;
    const socket = target.tls
      ? tls.connect({ host: target.host, port: target.port, servername: target.host })
      : net.connect({ host: target.host, port: target.port });
    this.#socket = socket;
    socket.setNoDelay(true);
    const where = `${target.host}:${target.port}`;
    const connectTimer = setTimeout(() => {
      this.#fail(
        new RedisUnavailableError(`no connection to ${where} within ${timeouts.connectTimeoutMs} ms`),
      );
    }, timeouts.connectTimeoutMs);
    socket.once(target.tls ? "secureConnect" : "connect", () => clearTimeout(connectTimer));
    socket.on("data", (chunk: Buffer) => this.#onData(chunk));
    socket.on("error", (error) => this.#fail(new RedisUnavailableError(`${where}: ${error.message}`)));
    this.#closed = new Promise((resolve) => {
      socket.once("close", () => {
        clearTimeout(connectTimer);
        this.#fail(new RedisUnavailableError(`connection to ${where} closed`));
        resolve();
      });
    });
    if (setup.length > 0) this.#sendSetup(setup);
  }

  /** True once the connection failed or was closed; it then only rejects. */
  get dead(): boolean {
    return this.#failure !== undefined;
  }

  /** Requests written and still waiting for their replies. */
  get pendingCount(): number {
    return this.#pending.length;
  }

  /** Writes all commands in one write and resolves with their replies, in order (error replies included). */
  send(commands: readonly Buffer[][]): Promise<RespValue[]> {
    return new Promise((resolve, reject) => {
      if (this.#failure) return reject(this.#failure);
      if (commands.length === 0) return resolve([]);
      this.#enqueue(commands.length, (error, replies) => (error ? reject(error) : resolve(replies)));
      this.#socket.write(Buffer.concat(commands.map(encodeCommand)));
    });
  }

  /** Closes the socket; requests in flight reject with RedisUnavailableError. Resolves once it is closed. */
  destroy(reason = "connection closed by the REST server"): Promise<void> {
    this.#fail(new RedisUnavailableError(reason));
    return this.#closed;
  }

  #sendSetup(setup: readonly string[][]): void {
    this.#enqueue(setup.length, (_error, replies) => {
      // Runs synchronously while replies are dispatched, so no request behind it sees a NOAUTH reply.
      const failed = replies.find((reply) => reply instanceof RespError);
      if (failed) this.#fail(new RedisUnavailableError(`connection setup failed: ${failed.message}`));
    });
    this.#socket.write(
      Buffer.concat(setup.map((args) => encodeCommand(args.map((arg) => Buffer.from(arg))))),
    );
  }

  #enqueue(count: number, done: Pending["done"]): void {
    const pending: Pending = { count, replies: [], timer: undefined, done };
    const { commandTimeoutMs } = this.#timeouts;
    pending.timer = setTimeout(() => {
      this.#fail(new RedisTimeoutError(`Redis did not answer within ${commandTimeoutMs} ms`));
    }, commandTimeoutMs);
    this.#pending.push(pending);
  }

  #onData(chunk: Buffer): void {
    let replies: RespValue[];
    try {
      replies = this.#parser.push(chunk);
    } catch (error) {
      this.#fail(error instanceof Error ? error : new Error(String(error)));
      return;
    }
    for (const reply of replies) {
      const head = this.#pending[0];
      if (!head) {
        this.#fail(new Error("Redis sent a reply nobody asked for"));
        return;
      }
      head.replies.push(reply);
      if (head.replies.length === head.count) {
        this.#pending.shift();
        clearTimeout(head.timer);
        head.done(undefined, head.replies);
      }
      if (this.#failure) return;
    }
  }

  #fail(error: Error): void {
    if (this.#failure) return;
    this.#failure = error;
    for (const pending of this.#pending.splice(0)) {
      clearTimeout(pending.timer);
      pending.done(error, pending.replies);
    }
    this.#socket.destroy();
  }
}
