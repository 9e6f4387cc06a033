import { describe, expect, it } from "vitest";
import type { Measured, WorkerName } from "../../scripts/bench/report.ts";
import { CEILINGS, formatWorkloadTable } from "../../scripts/bench/report.ts";

/** A job that made `perSecond` decisions a second. */
const job = (perSecond: number): Measured => ({
  done: perSecond,
  statuses: { 200: perSecond },
  errors: 0,
  seconds: 1,
  perSecond,
  p50: 1,
  p99: 2,
  commands: perSecond,
});

describe("bench tables", () => {
  it("gives the median of the per-round ratios, and the middle half of them", () => {
    const workers: WorkerName[] = ["this Worker", "floor", "@upstash/ratelimit"];
    // This Worker against the floor, round by round: 0.5x, 0.8x, 0.9x, 1.2x, 2.0x.
    const rounds = [50, 80, 90, 120, 200].map(
      (ours) =>
        ({ "this Worker": job(ours), floor: job(100), "@upstash/ratelimit": job(100) }) as Record<
          WorkerName,
          Measured
        >,
    );
    const gzip = { "this Worker": 1024, floor: 1024, "@upstash/ratelimit": 1024 } as Record<
      WorkerName,
      number
    >;
    const table = formatWorkloadTable("t", workers, rounds, gzip).split("\n");
    const row = table[table.indexOf(table.find((line) => line.startsWith("this Worker")) ?? "") + 1] ?? "";
    expect(row.trim().split(/\s+/)).toEqual([
      "ratio",
      "to",
      "floor",
      "0.90x",
      "1.00x",
      "1.00x",
      "1.00x",
      "1.00x",
      "0.80-1.20x",
    ]);
  });

  it("gives this Worker, and only it, as a share of the ceilings without Redis", () => {
    const workers: WorkerName[] = ["this Worker", "floor", "@upstash/ratelimit", ...CEILINGS];
    const rounds = [1, 2, 3].map(
      () => Object.fromEntries(workers.map((w) => [w, job(100)])) as Record<WorkerName, Measured>,
    );
    const gzip = Object.fromEntries(workers.map((w) => [w, 1024])) as Record<WorkerName, number>;
    const ratioLines = formatWorkloadTable("t", workers, rounds, gzip)
      .split("\n")
      .filter(
        (line) =>
          line.trim().startsWith("ratio to input + answer") || line.trim().startsWith("ratio to answer only"),
      );
    expect(ratioLines).toHaveLength(2);
  });
});
