/**
 * The bench's rounds (scripts/bench/rounds.ts) against a real redis-server: a Worker that calls Redis
 * after its job's last answer, as this project's gives back its leases, has those calls counted as its
 * own commands once it has settled, and none of them in the next Worker's job.
 */
import { setTimeout as sleep } from "node:timers/promises";
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from "vitest";
import type { Job, JobResult } from "../../scripts/bench/load.ts";
import { connectDirect, connectRedisStats, type RedisStats } from "../../scripts/bench/redis-stats.ts";
import { runRounds } from "../../scripts/bench/rounds.ts";
import { type LocalRedisServer, startRedisServer } from "../../scripts/local-redis.ts";
import type { RedisConnection } from "../../scripts/redis-rest/connection.ts";

/** How long the deferring Worker stays silent after its job, then how many calls it makes, how far apart. */
const SILENT_MS = 300;
const DEFERRED = { calls: 3, apartMs: 10 };

describe("the bench's rounds", () => {
  let redis: LocalRedisServer;
  let stats: RedisStats;
  let client: RedisConnection;

  beforeAll(async () => {
    redis = await startRedisServer();
    stats = connectRedisStats(redis.url);
    client = connectDirect(redis.url);
  });
  afterAll(async () => {
    await stats?.close();
    await client?.destroy("test done");
    await redis?.stop();
  });
  afterEach(() => {
    vi.restoreAllMocks();
  });

  /** A job that answers at once; the "deferring" Worker then calls Redis `DEFERRED.calls` times. */
  const run = async (job: Job): Promise<JobResult> => {
    if (job.url === "deferring") {
      void (async () => {
        await sleep(SILENT_MS);
        for (let call = 0; call < DEFERRED.calls; call++) {
          await client.send([["SET", "give-back", String(call)].map((arg) => Buffer.from(arg))]);
          await sleep(DEFERRED.apartMs);
        }
      })();
    }
    return {
      done: 10,
      statuses: { 200: 10 },
      errors: 0,
      seconds: 0.01,
      perSecond: 1000,
      p50: 1,
      p99: 1,
    };
  };

  it("counts a Worker's calls after its job as its commands, and none in the next Worker's job", async () => {
    vi.spyOn(console, "log").mockImplementation(() => {}); // the rounds print a line per job
    const options = {
      workloads: ["hot" as const],
      rttMs: 0,
      requests: 10,
      concurrency: 1,
      rounds: 3,
      ceilings: false,
    };
    const table = await runRounds({ "this Worker": "deferring", floor: "prompt" }, run, stats, options, 600, {
      "this Worker": SILENT_MS + 200,
    });

    const rounds = table[0] ?? [];
    expect(rounds).toHaveLength(3);
    for (const round of rounds) {
      expect(round["this Worker"]?.commands).toBe(DEFERRED.calls);
      expect(round.floor?.commands).toBe(0);
    }
  });
});
