/**
 * The load generator, run in a worker thread: the REST server runs on the main thread (startLocalRedisRest),
 * and on the same event loop the client's own work would queue in front of the server's. It takes a job,
 * has autocannon send its requests over `concurrency` keep-alive connections, each with one request in
 * flight, and answers with what it measured.
 *
 * Latencies go into an HDR histogram of this module's own, in microseconds, fed by autocannon's `response`
 * event: autocannon's histogram keeps whole milliseconds (it records its float milliseconds with a lowest
 * discernible value of 1), a 4% step at this harness's 20-30 ms p50; this one keeps 3 significant digits.
 */
import { parentPort } from "node:worker_threads";
import autocannon from "autocannon";
import * as hdr from "hdr-histogram-js";
import { requestBody, type Workload } from "./workloads.ts";

/** One measured run of one workload against one Worker. */
export interface Job {
  url: string;
  workload: Workload;
  /** Stop after this many requests... */
  requests: number;
  /** ...or after this many ms, whichever comes first. */
  maxMs: number;
  concurrency: number;
  /** Statuses that are answers (e.g. 200 and 429); any other, or a network error, is an error. */
  okStatuses: number[];
  /** Where the identifiers start, so rounds do not all begin with the same ones. */
  offset: number;
}

/** What a job measured. */
export interface JobResult {
  /** Requests answered or failed. */
  done: number;
  /** Answers per HTTP status. */
  statuses: Record<number, number>;
  errors: number;
  firstError?: string;
  seconds: number;
  perSecond: number;
  /** ms */
  p50: number;
  p99: number;
}

/**
 * autocannon looks at its stop flag (time up, or every connection done) only when it takes a sample:
 * every 10 ms rather than its default 1000, so a job of a few hundred ms is not stretched to a second.
 */
const SAMPLE_MS = 10;

/** Runs one job to its end; the result's `done` is at most `job.requests`. */
export async function runJob(job: Job): Promise<JobResult> {
  if (job.requests < 1) return { done: 0, statuses: {}, errors: 0, seconds: 0, perSecond: 0, p50: 0, p99: 0 };
  const latencyUs = hdr.build({ lowestDiscernibleValue: 1, highestTrackableValue: 60_000_000 });
  const statuses: Record<number, number> = {};
  let answered = 0;
  let badStatuses = 0;
  let networkErrors = 0;
  let firstError: string | undefined;
  let next = job.offset;
  const started = performance.now();
  const options: autocannon.Options = {
    url: job.url,
    // autocannon shares the requests out among the connections; a connection with none would never stop.
    connections: Math.min(job.concurrency, job.requests),
    maxOverallRequests: job.requests,
    duration: job.maxMs / 1000,
    sampleInt: SAMPLE_MS,
    requests: [
      {
        method: "POST",
        headers: { "content-type": "application/json" },
        setupRequest: (request) => ({ ...request, body: requestBody(job.workload, next++) }),
        onResponse: (status, body) => {
          if (job.okStatuses.includes(status)) return;
          badStatuses++;
          firstError ??= `${status} ${body.slice(0, 200)}`;
        },
      },
    ],
  };
  await new Promise<void>((resolve, reject) => {
    const instance = autocannon(options, (error) => (error ? reject(error) : resolve()));
    instance.on("response", (_client, status, _bytes, ms) => {
      answered++;
      statuses[status] = (statuses[status] ?? 0) + 1;
      latencyUs.recordValue(Math.max(1, Math.round(ms * 1000)));
    });
    instance.on("reqError", (error: unknown) => {
      networkErrors++;
      firstError ??= error instanceof Error ? error.message : String(error);
    });
  });
  const seconds = (performance.now() - started) / 1000;
  const at = (percentile: number) =>
    answered === 0 ? Number.NaN : latencyUs.getValueAtPercentile(percentile) / 1000;
  const result = {
    done: answered + networkErrors,
    statuses,
    errors: badStatuses + networkErrors,
    firstError,
    seconds,
    perSecond: answered / seconds,
    p50: at(50),
    p99: at(99),
  };
  latencyUs.destroy();
  return result;
}

parentPort?.on("message", (job: Job) => {
  void runJob(job).then((result) => parentPort?.postMessage(result));
});
