/**
 * The printed results: one line per measured job as it finishes, then per workload a table of each
 * Worker's figures with, under them, the same figures as ratios to the floor and to @upstash/ratelimit
 * (and, for this Worker with --ceilings, to the two Workers that answer without Redis).
 * Speed and latency ratios are medians of per-round ratios: a round's jobs ran back to back, under the
 * same noise. Commands per decision and allowed share are totals over all rounds.
 */
import type { JobResult } from "./load.ts";

/** The three Workers compared, in the order the table lists them. */
export const WORKER_NAMES = ["this Worker", "floor", "@upstash/ratelimit"] as const;

/**
 * The references `--ceilings` adds, not limiters: the floor's call with the SPEC's answer
 * (peers/floor-answer-worker.ts), the SPEC's answer without Redis after the SPEC's input handling
 * (peers/input-answer-worker.ts), and the SPEC's answer alone (peers/answer-only-worker.ts).
 */
export const CEILINGS = ["floor + answer", "input + answer", "answer only"] as const;

/** The ceilings this Worker is also given as a share of: a denial settled without Redis. */
const ANSWER_CEILINGS = ["input + answer", "answer only"] as const;

export type WorkerName = (typeof WORKER_NAMES)[number] | (typeof CEILINGS)[number];

/** One job's result and the Redis commands it caused. */
export interface Measured extends JobResult {
  commands: number;
}

/** The value a share `p` of `values` is at or under, between the two nearest (0.5: the median). */
const quantile = (values: number[], p: number) => {
  const sorted = [...values].sort((a, b) => a - b);
  const at = p * (sorted.length - 1);
  const below = sorted[Math.floor(at)] ?? 0;
  return below + ((sorted[Math.ceil(at)] ?? 0) - below) * (at - Math.floor(at));
};
const median = (values: number[]) => quantile(values, 0.5);
const sum = (values: number[]) => values.reduce((total, n) => total + n, 0);
const allowedOf = (result: JobResult) => result.statuses[200] ?? 0;
/** `a / b` as printed, e.g. `0.93x`. */
export const ratio = (a: number, b: number) =>
  b === 0 ? (a === 0 ? "n/a" : "inf") : `${(a / b).toFixed(2)}x`;
const cells = (values: string[]) => values.map((value) => value.padStart(11)).join("");

/** e.g. `round 2  spread  floor                1520/s  p50 19.8 ms  p99 40.1 ms  4.00 cmds  100.0% allowed` */
export function formatJob(round: number, workload: string, worker: WorkerName, m: Measured): string {
  const errors = m.errors ? `  ${m.errors} errors, first: ${m.firstError}` : "";
  return (
    `round ${String(round).padStart(2)}  ${workload.padEnd(11)}  ${worker.padEnd(18)}  ${m.perSecond.toFixed(0).padStart(6)}/s` +
    `  p50 ${m.p50.toFixed(1).padStart(5)} ms  p99 ${m.p99.toFixed(1).padStart(6)} ms` +
    `  ${(m.commands / m.done).toFixed(2)} cmds  ${((100 * allowedOf(m)) / m.done).toFixed(1)}% allowed${errors}`
  );
}

/** The table of one workload: `rounds[i][worker]` is round i's measurement of each Worker in `workers`. */
export function formatWorkloadTable(
  title: string,
  workers: readonly WorkerName[],
  rounds: Array<Record<WorkerName, Measured>>,
  gzipBytes: Record<WorkerName, number>,
): string {
  const perDecision = (w: WorkerName) =>
    sum(rounds.map((r) => r[w].commands)) / sum(rounds.map((r) => r[w].done));
  const allowedShare = (w: WorkerName) =>
    sum(rounds.map((r) => allowedOf(r[w]))) / sum(rounds.map((r) => r[w].done));
  const lines = [
    title,
    `${"".padEnd(30)}${cells(["decisions/s", "p50 ms", "p99 ms", "cmds/dec", "allowed", "gzip KiB", "mid rounds"])}`,
  ];
  for (const worker of workers) {
    lines.push(
      `${worker.padEnd(30)}${cells([
        median(rounds.map((r) => r[worker].perSecond)).toFixed(0),
        median(rounds.map((r) => r[worker].p50)).toFixed(2),
        median(rounds.map((r) => r[worker].p99)).toFixed(2),
        perDecision(worker).toFixed(2),
        `${(100 * allowedShare(worker)).toFixed(1)}%`,
        (gzipBytes[worker] / 1024).toFixed(1),
      ])}`,
    );
    // With --ceilings, this Worker is also given as a share of the harness's ceilings.
    const ceilings = worker === "this Worker" ? ANSWER_CEILINGS.filter((c) => workers.includes(c)) : [];
    for (const reference of ["floor", "@upstash/ratelimit", ...ceilings] as const) {
      if (reference === worker) continue;
      const ratios = (figure: "perSecond" | "p50" | "p99") =>
        rounds.map((r) => r[worker][figure] / r[reference][figure]);
      const perRound = (figure: "perSecond" | "p50" | "p99") => ratio(median(ratios(figure)), 1);
      // How far single rounds' decisions/s ratios went: the middle half of them.
      const [low, high] = [0.25, 0.75].map((p) => quantile(ratios("perSecond"), p).toFixed(2));
      lines.push(
        `${`  ratio to ${reference}`.padEnd(30)}${cells([
          perRound("perSecond"),
          perRound("p50"),
          perRound("p99"),
          ratio(perDecision(worker), perDecision(reference)),
          "",
          ratio(gzipBytes[worker], gzipBytes[reference]),
          `${low}-${high}x`,
        ])}`,
      );
    }
  }
  return lines.join("\n");
}

/** How to read the tables, printed under them. */
export const LEGEND = [
  "A ratio is the row's figure divided by the reference's (decisions/s, p50 and p99: the median of the",
  "per-round ratios). decisions/s: higher is better; latency, commands and size: lower is better.",
  "cmds/dec: Redis commands per decision (INFO commandstats, EVALSHA and the script's own commands).",
  "mid rounds: the middle half of the per-round decisions/s ratios (a quarter of the rounds under it,",
  "a quarter over): how much one round's ratio says.",
].join("\n");

/** One line of the outage measurement. */
export function formatOutage(
  failMode: string,
  warmUpMs: number[],
  single: JobResult,
  burst: JobResult,
  concurrency: number,
): string {
  const figures = (m: JobResult) => {
    const statuses = Object.entries(m.statuses)
      .map(([status, count]) => `${count} x ${status}`)
      .join(", ");
    const errors = m.errors ? `  ${m.errors} errors, first: ${m.firstError}` : "";
    return `${m.done} requests: p50 ${m.p50.toFixed(2)} ms, p99 ${m.p99.toFixed(2)} ms (${statuses})${errors}`;
  };
  return (
    `FAIL_MODE=${failMode.padEnd(6)} warm-up ${warmUpMs.map((ms) => ms.toFixed(0)).join(", ")} ms\n` +
    `  one at a time (the answer itself): ${figures(single)}\n` +
    `  ${concurrency} at once (with queueing in workerd): ${figures(burst)}`
  );
}
