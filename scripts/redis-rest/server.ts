import http from "node:http";
import type { AddressInfo } from "node:net";
import { createHandler } from "./handler.ts";
import { RedisPool } from "./pool.ts";
import { DEFAULT_BODY_LIMIT } from "./request-body.ts";
import { type ScriptFlagsMode, strictScriptFlags, upstashScriptFlags } from "./script-flags.ts";

/** Options of {@link startRedisRestServer}. */
export interface RedisRestServerOptions {
  /** The redis-server behind it. @default "redis://127.0.0.1:6379" */
  redisUrl?: string;
  /** The bearer token clients must send. @default "example_token" (docker-compose.yml's SRH_TOKEN) */
  token?: string;
  /** @default 8079, SRH's usual published port; 0 picks a free one. */
  port?: number;
  /** @default "127.0.0.1" */
  host?: string;
  /** Shared Redis connections. @default 4 */
  poolSize?: number;
  /** @default 1000 */
  connectTimeoutMs?: number;
  /** Longest wait for one Redis reply, then 500. @default 5000, like SRH */
  commandTimeoutMs?: number;
  /**
   * Upstash's `allow-key-locking` script flag: `upstash` accepts it, as Upstash does; `strict` passes it to
   * Redis, which refuses it, as SRH does. @default "upstash"
   */
  scriptFlags?: ScriptFlagsMode;
  /** Largest request body, then 413. @default 8_000_000, like SRH */
  bodyLimit?: number;
  /** Where the reasons behind 500s go. @default a line on stderr */
  log?: (line: string) => void;
}

/** A running server. */
export interface RedisRestServer {
  /** e.g. `http://127.0.0.1:8079`, for UPSTASH_REDIS_REST_URL. */
  url: string;
  port: number;
  token: string;
  /** Stops accepting requests, drops open sockets and closes the Redis connections. */
  close(): Promise<void>;
}

/**
 * Starts the SRH-compatible Upstash REST server. Redis is only contacted on the first request, so the
 * server may start before Redis does, as SRH can.
 * @example const server = await startRedisRestServer({ port: 0, redisUrl: "redis://127.0.0.1:6380" });
 */
export async function startRedisRestServer(options: RedisRestServerOptions = {}): Promise<RedisRestServer> {
  const token = options.token ?? "example_token";
  const commandTimeoutMs = options.commandTimeoutMs ?? 5000;
  const pool = new RedisPool({
    url: options.redisUrl ?? "redis://127.0.0.1:6379",
    size: options.poolSize,
    connectTimeoutMs: options.connectTimeoutMs,
    commandTimeoutMs,
  });
  const log = options.log ?? ((line: string) => process.stderr.write(`redis-rest: ${line}\n`));
  const scripts = options.scriptFlags === "strict" ? strictScriptFlags : upstashScriptFlags();
  const bodyLimit = options.bodyLimit ?? DEFAULT_BODY_LIMIT;
  const server = http.createServer(createHandler({ pool, token, scripts, bodyLimit, commandTimeoutMs, log }));
  const host = options.host ?? "127.0.0.1";
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(options.port ?? 8079, host, () => {
      server.off("error", reject);
      resolve();
    });
  });
  const { port } = server.address() as AddressInfo;
  const urlHost = host.includes(":") ? `[${host}]` : host;
  return {
    url: `http://${urlHost}:${port}`,
    port,
    token,
    async close() {
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      // close() alone would wait for keep-alive sockets and requests still waiting on Redis.
      server.closeAllConnections();
      await Promise.all([closed, pool.close()]);
    },
  };
}
