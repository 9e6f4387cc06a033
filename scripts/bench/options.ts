/** The bench's command-line flags. */
import { parseArgs } from "node:util";
import { DEFAULT_WORKLOADS, parseWorkloads, WORKLOAD_NAMES, type WorkloadName } from "./workloads.ts";

/**
 * Measuring time of all rounds together, per Worker and workload: 8 s, so a job's length is the same
 * whichever Workers and workloads run (667 ms in 12 rounds). Builds, startup, warm-up and the outage add
 * about 45 s to a default run.
 */
export const BUDGET_PER_WORKER_AND_WORKLOAD_MS = 8_000;

export const USAGE = `Usage: npm run bench -- [--workloads LIST] [--rtt MS] [--requests N] [--concurrency C]
                        [--rounds R] [--ceilings]
  --workloads LIST comma-separated, from ${WORKLOAD_NAMES.join(", ")} (default: all)
  --rtt MS         adds MS to every round trip between the Workers and the REST endpoint, through a
                   delaying proxy: Redis in a region away from the edge location (default 0, no proxy)
  --requests N     most requests per Worker, workload and round (default 20000; each job also stops
                   at its share of the measuring budget, ${BUDGET_PER_WORKER_AND_WORKLOAD_MS / 1000} s per Worker and workload)
  --concurrency C  connections, each with one request in flight (default 32)
  --rounds R       rounds; each runs every workload against every Worker (default 12)
  --ceilings       adds three reference Workers that answer as the SPEC says with no limiter's work: one
                   after the floor's call; two without Redis, one after the SPEC's input handling, one
                   without it: the ceilings of this harness`;

export interface BenchOptions {
  workloads: WorkloadName[];
  /** ms added to each round trip to the REST endpoint; 0: no proxy. */
  rttMs: number;
  requests: number;
  concurrency: number;
  rounds: number;
  ceilings: boolean;
}

/** Reads process.argv; prints the usage and exits on --help or a bad flag. */
export function parseOptions(): BenchOptions {
  const fail = (message: string): never => {
    process.stderr.write(`bench: ${message}\n\n${USAGE}\n`);
    process.exit(2);
  };
  const integer = (name: string, text: string | undefined, fallback: number, min: number, max: number) => {
    const value = Number(text ?? fallback);
    if (!Number.isInteger(value) || value < min || value > max)
      fail(`--${name} must be an integer from ${min} to ${max}`);
    return value;
  };
  let values: {
    workloads?: string;
    rtt?: string;
    requests?: string;
    concurrency?: string;
    rounds?: string;
    ceilings?: boolean;
    help?: boolean;
  } = {};
  try {
    ({ values } = parseArgs({
      options: {
        workloads: { type: "string" },
        rtt: { type: "string" },
        requests: { type: "string" },
        concurrency: { type: "string" },
        rounds: { type: "string" },
        ceilings: { type: "boolean" },
        help: { type: "boolean" },
      },
    }));
  } catch (error) {
    fail(error instanceof Error ? error.message : String(error));
  }
  if (values.help) {
    process.stdout.write(`${USAGE}\n`);
    process.exit(0);
  }
  let workloads = [...DEFAULT_WORKLOADS];
  try {
    if (values.workloads !== undefined) workloads = parseWorkloads(values.workloads);
  } catch (error) {
    fail(error instanceof Error ? error.message : String(error));
  }
  return {
    workloads,
    rttMs: integer("rtt", values.rtt, 0, 0, 1000),
    requests: integer("requests", values.requests, 20_000, 1, 1_000_000),
    concurrency: integer("concurrency", values.concurrency, 32, 1, 256),
    rounds: integer("rounds", values.rounds, 12, 1, 100),
    ceilings: values.ceilings ?? false,
  };
}
