/**
 * This Worker while Redis cannot be reached: its REST URL points at a port nobody listens on, so every call
 * is refused at once. A few requests one by one first (the circuit breaker opens after 3 failed calls),
 * then requests one at a time (the answer's own time) and a burst (what callers see under load, queueing
 * in workerd included), under FAIL_MODE open and closed.
 */
import { freePort } from "../local-redis.ts";
import type { Job, JobResult } from "./load.ts";
import { formatOutage } from "./report.ts";
import { deployedVars, startWorker } from "./workers.ts";
import { WORKLOADS } from "./workloads.ts";

const WARM_UP_REQUESTS = 5;
const SINGLE_REQUESTS = 200;
const BURST_REQUESTS = 1000;
const BURST_MAX_MS = 5000;

/** Runs the outage measurement for both fail modes and returns the printed lines. */
export async function measureOutage(
  script: string,
  run: (job: Job) => Promise<JobResult>,
  concurrency: number,
): Promise<string[]> {
  const refusing = `http://127.0.0.1:${await freePort()}`;
  const workload = WORKLOADS.spread;
  const lines: string[] = [];
  for (const [failMode, status] of [
    ["open", 200],
    ["closed", 503],
  ] as const) {
    const worker = await startWorker("rate-limiter-outage", script, {
      ...deployedVars,
      UPSTASH_REDIS_REST_URL: refusing,
      UPSTASH_REDIS_REST_TOKEN: "unused",
      FAIL_MODE: failMode,
      LOG_LEVEL: "ERROR",
    });
    try {
      const job = { url: worker.checkUrl, workload, okStatuses: [status], offset: 0 };
      const warmUpMs: number[] = [];
      for (let i = 0; i < WARM_UP_REQUESTS; i++) {
        const one = await run({ ...job, requests: 1, concurrency: 1, maxMs: BURST_MAX_MS, offset: i });
        if (one.errors > 0) throw new Error(`outage warm-up, FAIL_MODE=${failMode}: ${one.firstError}`);
        warmUpMs.push(one.p50);
      }
      const single = await run({ ...job, requests: SINGLE_REQUESTS, concurrency: 1, maxMs: BURST_MAX_MS });
      const burst = await run({ ...job, requests: BURST_REQUESTS, concurrency, maxMs: BURST_MAX_MS });
      lines.push(formatOutage(failMode, warmUpMs, single, burst, concurrency));
    } finally {
      await worker.dispose();
    }
  }
  return lines;
}
