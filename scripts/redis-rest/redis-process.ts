/**
 * A throwaway redis-server as a child process: free port, no persistence, fresh temp directory, killed
 * with this process at the latest. Used by scripts/local-redis.ts and the REST server's tests.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { closeSync, mkdtempSync, openSync, readFileSync, rmSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { RedisConnection } from "./connection.ts";
import { parseRedisUrl } from "./redis-url.ts";

/** A redis-server started by {@link startRedisServer}. */
export interface LocalRedisServer {
  /** e.g. `redis://127.0.0.1:41234` */
  url: string;
  port: number;
  /** Its process id, for sending it signals (the fault tests pause and kill it). */
  pid: number;
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
 * directory, and resolves once it answers (at most 5 s). Throws one clear Error when redis-server is
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
  // No persistence: --save "" turns RDB snapshots off, and nothing outlives the temp directory anyway.
  const args = ["--port", String(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"];
  args.push("--dir", dir);
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
  const failure = await waitUntilReady(url, child.pid ?? 0, () => exitReason);
  if (failure === undefined) return { url, port, pid: child.pid ?? 0, logFile, stop };
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

/**
 * Resolves with undefined once our redis-server answers, or with why it never will: exited, or 5 s passed.
 * "Ours" is checked by pid: on a taken port another Redis would answer a PING while ours fails to bind.
 */
async function waitUntilReady(url: string, pid: number, exitReason: () => string | undefined) {
  const deadline = Date.now() + 5000;
  const target = parseRedisUrl(url);
  const info = [Buffer.from("INFO"), Buffer.from("server")];
  while (Date.now() < deadline) {
    const connection = new RedisConnection(target, { connectTimeoutMs: 500, commandTimeoutMs: 1000 });
    try {
      const [reply] = await connection.send([info]);
      if (Buffer.isBuffer(reply) && reply.includes(`process_id:${pid}\r\n`)) return undefined;
    } catch {
      // Not listening yet.
    } finally {
      void connection.destroy();
    }
    const reason = exitReason();
    if (reason) return reason;
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  return exitReason() ?? "redis-server did not answer within 5 s";
}
