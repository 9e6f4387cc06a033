/**
 * The measuring itself: a warm-up (scripts loaded, connections open, the hot bucket drained), then rounds
 * in which every Worker gets every workload, the Workers' order turning each round (A B C, B C A, C A B) so
 * that no Worker always runs first or last. Redis's command counters are reset before each job and read
 * after it, once the Worker has settled: a Worker that goes on calling Redis after its last answer (this
 * project's, which gives back what is left of its leases `LEASE_MS` after taking them) is waited for, so
 * those calls count as its commands and take no CPU from the next Worker's job.
 */
import { setTimeout as sleep } from "node:timers/promises";
import type { Job, JobResult } from "./load.ts";
import type { BenchOptions } from "./options.ts";
import type { RedisStats } from "./redis-stats.ts";
import { totalCalls } from "./redis-stats.ts";
import { formatJob, type Measured, type WorkerName } from "./report.ts";
import { WORKLOADS, type Workload } from "./workloads.ts";

const WARM_UP = { requests: 2000, maxMs: 1500 };

/** How often, and how many times at most, Redis's count is read while a Worker settles. */
const QUIET = { pollMs: 100, maxPolls: 50 };

/** `table[w][round][worker]`: what each job measured, per workload (in the order of `options.workloads`). */
export type RoundsTable = Array<Array<Record<WorkerName, Measured>>>;

/** Runs the warm-up and the rounds, printing one line per job; throws if any request failed. */
export async function runRounds(
  checkUrls: Partial<Record<WorkerName, string>>,
  run: (job: Job) => Promise<JobResult>,
  stats: RedisStats,
  { requests, concurrency, rounds, workloads: names }: BenchOptions,
  budgetMs: number,
  settleMs: Partial<Record<WorkerName, number>> = {},
): Promise<RoundsTable> {
  const workers = Object.keys(checkUrls) as WorkerName[];
  const workloads = names.map((name) => WORKLOADS[name]);
  const decide = (worker: WorkerName, workload: Workload, limits: { requests: number; maxMs: number }) =>
    run({
      url: checkUrls[worker] as string,
      workload,
      concurrency,
      okStatuses: [200, 429],
      offset: 0,
      ...limits,
    });

  /**
   * Returns once `worker`'s calls after its job are done: `settleMs[worker]` (the longest it may stay
   * silent before its last calls), then until Redis's count stops moving.
   */
  const settle = async (worker: WorkerName) => {
    const silentMs = settleMs[worker];
    if (silentMs === undefined) return;
    await sleep(silentMs);
    let count = totalCalls(await stats.read());
    for (let poll = 0; poll < QUIET.maxPolls; poll++) {
      await sleep(QUIET.pollMs);
      const next = totalCalls(await stats.read());
      if (next === count) return;
      count = next;
    }
  };

  console.log(`warm-up: up to ${WARM_UP.requests} requests per Worker and workload`);
  for (const workload of workloads) {
    for (const worker of workers) {
      const result = await decide(worker, workload, WARM_UP);
      if (result.errors > 0) throw new Error(`warm-up of ${worker}: ${result.firstError}`);
      await settle(worker);
    }
  }

  const maxMs = Math.round(budgetMs / (rounds * workloads.length * workers.length));
  console.log(
    `${rounds} rounds, ${concurrency} connections, each job up to ${requests} requests or ${maxMs} ms`,
  );
  const table: RoundsTable = workloads.map(() => []);
  for (let round = 1; round <= rounds; round++) {
    const order = workers.map((_, i) => workers[(i + round - 1) % workers.length] as WorkerName);
    for (const [w, workload] of workloads.entries()) {
      const row = {} as Record<WorkerName, Measured>;
      for (const worker of order) {
        await stats.reset();
        const result = await decide(worker, workload, { requests, maxMs });
        await settle(worker);
        const counts = await stats.read();
        row[worker] = { ...result, commands: totalCalls(counts) };
        console.log(formatJob(round, workload.name, worker, row[worker]));
        // EVAL only follows a NOSCRIPT: after the warm-up, a sign that a script was lost (for the peer,
        // that the REST server no longer maps its flagged scripts' SHA-1s).
        if (counts.eval) console.log(`  ${worker} sent ${counts.eval} EVALs after NOSCRIPT`);
        if (result.errors > 0) throw new Error("requests failed (see above): no figures from this run.");
      }
      table[w]?.push(row);
    }
  }
  return table;
}
