/**
 * One throwaway redis-server the fault tests may stop, kill, pause and start again on the same port, so
 * the REST server in front of it (which reconnects by itself) keeps its URL.
 */
import { type LocalRedisServer, startRedisServer } from "../../../scripts/local-redis.ts";
import type { RedisAction } from "./faults.ts";

/** A redis-server under the tests' control. */
export interface RedisControl {
  /** e.g. `redis://127.0.0.1:41234`; the same after every restart. */
  url: string;
  /** Performs one action; `start` is a no-op while it runs, the others while it does not. */
  act(action: RedisAction): Promise<void>;
  /** Stops it for good (resuming it first if paused). */
  close(): Promise<void>;
}

/** Starts redis-server on a free port and returns its controls. */
export async function startControlledRedis(): Promise<RedisControl> {
  let server: LocalRedisServer | undefined = await startRedisServer();
  const { port, url } = server;
  let paused = false;

  const resume = () => {
    if (server && paused) process.kill(server.pid, "SIGCONT");
    paused = false;
  };
  const actions: Record<RedisAction, () => Promise<void>> = {
    async stop() {
      resume();
      await server?.stop();
      server = undefined;
    },
    async kill() {
      resume();
      if (server) process.kill(server.pid, "SIGKILL");
      // stop() now only waits for the exit and removes the temp directory.
      await server?.stop();
      server = undefined;
    },
    async pause() {
      if (server && !paused) process.kill(server.pid, "SIGSTOP");
      paused = server !== undefined;
    },
    async resume() {
      resume();
    },
    async start() {
      server ??= await startRedisServer({ port });
    },
  };
  return {
    url,
    act: (action) => actions[action](),
    close: () => actions.stop(),
  };
}
