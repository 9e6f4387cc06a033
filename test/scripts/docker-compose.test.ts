import { type ChildProcess, execFileSync, spawn } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { parse } from "yaml";
import { freePort } from "../../scripts/local-redis.ts";

interface Compose {
  services: { redis: { command: string[]; volumes: string[] } };
  volumes: Record<string, unknown>;
}

const compose = parse(readFileSync("docker-compose.yml", "utf8")) as Compose;
const dataDir = mkdtempSync(join(tmpdir(), "compose-redis-"));
afterAll(() => rmSync(dataDir, { recursive: true, force: true }));

/** redis-server as docker-compose.yml starts it, with this temp dir standing in for the volume. */
async function composeRedis(port: number): Promise<ChildProcess> {
  const [binary, ...args] = compose.services.redis.command;
  const child = spawn(
    binary as string,
    [...args, "--port", String(port), "--bind", "127.0.0.1", "--dir", dataDir],
    {
      stdio: "ignore",
    },
  );
  for (let tries = 0; tries < 100; tries++) {
    if (cli(port, "PING") === "PONG") return child;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  child.kill("SIGKILL");
  throw new Error("redis-server did not come up");
}

function cli(port: number, ...command: string[]): string {
  try {
    return execFileSync("redis-cli", ["-p", String(port), ...command], { encoding: "utf8" }).trim();
  } catch {
    return "";
  }
}

/** Stops it, with SIGTERM as `docker compose restart` and `down` do, or SIGKILL as a crash would. */
function stop(child: ChildProcess, signal: "SIGTERM" | "SIGKILL" = "SIGTERM"): Promise<unknown> {
  const exited = new Promise((resolve) => child.once("exit", resolve));
  child.kill(signal);
  return exited;
}

describe("docker-compose.yml's Redis", () => {
  it("keeps its data on a named volume mounted where Redis writes", () => {
    const [volume, mountPoint] = (compose.services.redis.volumes[0] ?? "").split(":");
    expect(mountPoint).toBe("/data");
    expect(compose.volumes).toHaveProperty(volume as string);
  });

  it("keeps buckets across a restart and a crash, from its append-only file", async () => {
    const port = await freePort();
    const first = await composeRedis(port);
    cli(port, "HSET", "ratelimit:free:restart", "tokens", "42", "ts", "1700000000000");
    await stop(first);

    const second = await composeRedis(port);
    cli(port, "HSET", "ratelimit:free:crash", "tokens", "7", "ts", "1700000000000");
    // No shutdown save: only what the append-only file already holds survives.
    await stop(second, "SIGKILL");

    const third = await composeRedis(port);
    try {
      expect(cli(port, "HGET", "ratelimit:free:restart", "tokens")).toBe("42");
      expect(cli(port, "HGET", "ratelimit:free:crash", "tokens")).toBe("7");
    } finally {
      await stop(third);
    }
  });
});
