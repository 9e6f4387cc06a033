/** The bench's command-line flags. */
import { parseArgs } from "node:util";

/**
 * Measuring time of all rounds together, per Worker: 60 s for the usual three, so a job's length is the
 * same with the ceilings. Builds, startup, warm-up and the outage add ~30 s.
 */
export const BUDGET_PER_WORKER_MS = 20_000;

export const USAGE = `Usage: npm run bench -- [--requests N] [--concurrency C] [--rounds R] [--ceilings]
  --requests N     most requests per Worker, workload and round (default 20000; each also stops
                   at its share of the measuring budget, ${BUDGET_PER_WORKER_MS / 1000} s per Worker)
  --concurrency C  connections, each with one request in flight (default 32)
  --rounds R       rounds; each runs both workloads against every Worker (default 12)
  --ceilings       adds two reference Workers that answer as the SPEC says with no limiter's work, one
                   after the floor's call, one without Redis: the ceilings of this harness`;

export interface BenchOptions {
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
  const integer = (name: string, text: string | undefined, fallback: number, max: number) => {
    const value = Number(text ?? fallback);
    if (!Number.isInteger(value) || value < 1 || value > max)
      fail(`--${name} must be an integer from 1 to ${max}`);
    return value;
  };
  let values: {
    requests?: string;
    concurrency?: string;
    rounds?: string;
    ceilings?: boolean;
    help?: boolean;
  } = {};
  try {
    ({ values } = parseArgs({
      options: {
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
  return {
    requests: integer("requests", values.requests, 20_000, 1_000_000),
    concurrency: integer("concurrency", values.concurrency, 32, 256),
    rounds: integer("rounds", values.rounds, 12, 100),
    ceilings: values.ceilings ?? false,
  };
}
