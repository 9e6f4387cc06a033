/**
 * A Redis REST endpoint for `npm run dev` and `npm test` with nothing to install but redis-server: the one
 * in UPSTASH_REDIS_REST_URL when set (SRH from docker compose, or Upstash), otherwise a throwaway
 * redis-server with this project's SRH-compatible REST server in front of it.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { closeSync, mkdtempSync, openSync, readFileSync, rmSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { RedisConnection } from "./redis-rest/connection.ts";
import { parseRedisUrl } from "./redis-rest/redis-url.ts";
import { startRedisRestServer } from "./redis-rest/server.ts";

/** A Redis REST endpoint, the two values `@upstash/redis` needs, and how to let go of it. */
export interface RedisRestEndpoint {
  url: string;
  token: string;
  stop(): Promise<void>;
}

/** A redis-server started by {@link startRedisServer}. */
export interface LocalRedisServer {
  /** e.g. `redis://127.0.0.1:41234` */
  url: string;
  port: number;
  /** Everything redis-server printed, for when it misbehaves. */
  logFile: string;
  /** Stops it and removes its temporary directory. Safe to call twice. */
  stop(): Promise<void>;
}

const INSTALL_HINT = `redis-server was not found on PATH. Either install it (Debian/Ubuntu: apt-get install -y redis-server; macOS: brew install redis), or use SRH: docker compose up -d, then set UPSTASH_REDIS_REST_URL=http://localhost:8079 UPSTASH_REDIS_REST_TOKEN=example_token (or point those two variables at an Upstash database).`;

// Synchronous cleanups of whatever is still running when the process ends without calling stop().
const cleanups = new Set<() => void>();
let exitHooksInstalled = false;

function onProcessEnd(cleanup: () => void): () => void {
  if (!exitHooksInstalled) {
    exitHooksInstalled = true;
    process.on("exit", () => {
      for (const run of cleanups) run();
    });
    for (const signal of ["SIGINT", "SIGTERM"] as const) {
      process.once(signal, function stopLocalRedisOnSignal() {
        // A program that handles the signal itself (scripts/dev.ts) calls stop(); otherwise clean up and
        // restore Node's default "exit on signal", which any listener disables.
        if (process.listenerCount(signal) > 0) return;
        for (const run of cleanups) run();
        process.kill(process.pid, signal);
      });
    }
  }
  cleanups.add(cleanup);
  return () => cleanups.delete(cleanup);
}

/** A TCP port that was free a moment ago on 127.0.0.1. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const address = server.address();
      const port = typeof address === "object" && address ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

/**
 * Starts redis-server on `port` (a free one by default) on 127.0.0.1 with no persistence, in a fresh temp
 * directory, and resolves once it answers PING (at most 5 s). Throws one clear Error when redis-server is
 * not installed or does not come up (naming its log).
 * @example const redis = await startRedisServer(); … await redis.stop();
 */
export async function startRedisServer(options: { port?: number } = {}): Promise<LocalRedisServer> {
  for (let attempt = 1; ; attempt++) {
    const port = options.port ?? (await freePort());
    try {
      return await spawnRedisServer(port);
    } catch (error) {
      // Another process may take a "free" port before redis-server binds it; only then is a retry useful.
      const portTaken = error instanceof Error && /already in use/i.test(error.message);
      if (!portTaken || options.port !== undefined || attempt >= 3) throw error;
    }
  }
}

async function spawnRedisServer(port: number): Promise<LocalRedisServer> {
  const dir = mkdtempSync(join(tmpdir(), "redis-rest-"));
  const logFile = join(dir, "redis-server.log");
  const log = openSync(logFile, "a");
  const args = [
    "--port",
    String(port),
    "--bind",
    "127.0.0.1",
    "--save",
    "",
    "--appendonly",
    "no",
    "--dir",
    dir,
  ];
  let child: ChildProcess;
  try {
    child = spawn("redis-server", args, { stdio: ["ignore", log, log] });
  } finally {
    closeSync(log);
  }
  child.unref();
  let exitReason: string | undefined;
  child.once("error", (error: NodeJS.ErrnoException) => {
    exitReason = error.code === "ENOENT" ? INSTALL_HINT : `redis-server could not start: ${error.message}`;
  });
  child.once("exit", (code, signal) => {
    exitReason ??= `redis-server exited (${signal ?? `code ${code}`})`;
  });
  const removeDir = () => rmSync(dir, { recursive: true, force: true });
  const forget = onProcessEnd(() => {
    child.kill("SIGKILL");
    removeDir();
  });
  const kill = async () => {
    if (child.exitCode !== null || child.signalCode !== null || child.pid === undefined) return;
    const gone = new Promise((resolve) => child.once("exit", resolve));
    child.kill("SIGTERM");
    const timer = setTimeout(() => child.kill("SIGKILL"), 2000);
    await gone;
    clearTimeout(timer);
  };
  let stopped: Promise<void> | undefined;
  const stop = () => {
    stopped ??= kill().then(() => {
      forget();
      removeDir();
    });
    return stopped;
  };

  const url = `redis://127.0.0.1:${port}`;
  const failure = await waitForPing(url, () => exitReason);
  if (failure === undefined) return { url, port, logFile, stop };
  // The directory stays, so the log named in the error can still be read.
  await kill();
  forget();
  if (failure === INSTALL_HINT) {
    removeDir();
    throw new Error(INSTALL_HINT);
  }
  const output = readFileSync(logFile, "utf8").trim().split("\n").slice(-5).join("\n");
  throw new Error(
    `${failure} on port ${port} before accepting connections. Its log, ${logFile}, ends with:\n${output}`,
  );
}

/** Resolves with undefined once PING answers, or with why it never will: exited, or 5 s passed. */
async function waitForPing(url: string, exitReason: () => string | undefined): Promise<string | undefined> {
  const deadline = Date.now() + 5000;
  const target = parseRedisUrl(url);
  while (Date.now() < deadline) {
    const connection = new RedisConnection(target, { connectTimeoutMs: 500, commandTimeoutMs: 1000 });
    try {
      await connection.send([[Buffer.from("PING")]]);
      return undefined;
    } catch {
      const reason = exitReason();
      if (reason) return reason;
      await new Promise((resolve) => setTimeout(resolve, 20));
    } finally {
      void connection.destroy();
    }
  }
  return exitReason() ?? "redis-server did not answer PING within 5 s";
}

/**
 * redis-server on a free port, no persistence, in a fresh temp dir, plus the REST server (in this process)
 * on a free 127.0.0.1 port in front of it. stop() tears both down and removes the temp dir; also torn down
 * on process exit / SIGINT / SIGTERM.
 * @example const { url, token, stop } = await startLocalRedisRest();
 */
export async function startLocalRedisRest(
  options: { token?: string; log?: (line: string) => void } = {},
): Promise<RedisRestEndpoint & { redisUrl: string }> {
  const redis = await startRedisServer();
  try {
    const rest = await startRedisRestServer({
      port: 0,
      redisUrl: redis.url,
      token: options.token,
      log: options.log,
    });
    const stop = async () => {
      await rest.close();
      await redis.stop();
    };
    return { url: rest.url, token: rest.token, redisUrl: redis.url, stop };
  } catch (error) {
    await redis.stop();
    throw error;
  }
}

/** UPSTASH_REDIS_REST_URL (+ UPSTASH_REDIS_REST_TOKEN) from process.env when set; otherwise startLocalRedisRest(). */
export async function resolveRedisRest(): Promise<RedisRestEndpoint> {
  const url = process.env.UPSTASH_REDIS_REST_URL;
  if (!url) return startLocalRedisRest();
  const token = process.env.UPSTASH_REDIS_REST_TOKEN;
  if (!token) throw new Error("UPSTASH_REDIS_REST_URL is set but UPSTASH_REDIS_REST_TOKEN is not: set both.");
  return { url, token, stop: async () => {} };
}
