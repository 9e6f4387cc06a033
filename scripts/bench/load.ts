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
import { parentPort, workerData } from "node:worker_threads";
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
 * autocannon looks at its stop flag (every connection done) only when it takes a sample: every 10 ms
 * rather than its default 1000, so a job of a few hundred ms is not stretched to a second.
 */
const SAMPLE_MS = 10;

/**
 * The two fields of autocannon's Client (lib/httpClient.js, not documented) through which its own count
 * limit works: before each request, a connection that has sent `responseMax` requests closes instead.
 */
interface ConnectionBudget {
  reqsMade: number;
  responseMax: number;
}

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
  const connections: ConnectionBudget[] = [];
  const started = performance.now();
  const options: autocannon.Options = {
    url: job.url,
    // autocannon shares the requests out among the connections; a connection with none would never stop.
    connections: Math.min(job.concurrency, job.requests),
    maxOverallRequests: job.requests,
    // Only a backstop: the time limit is the timer below.
    duration: job.maxMs / 1000 + 60,
    sampleInt: SAMPLE_MS,
    setupClient: (client) => connections.push(client as unknown as ConnectionBudget),
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
  // autocannon's own time limit closes the connections, dropping the requests in flight, which the Workers
  // and Redis still work on, after the job and uncounted (0.3 Redis commands more than decisions answered,
  // per decision, on spread). So at the time limit each connection's budget becomes what it has sent: it
  // finishes the request in flight and sends no other, as with autocannon's count limit.
  // test/scripts/bench-load.test.ts checks that no request is dropped.
  const timeUp = setTimeout(() => {
    for (const connection of connections)
      connection.responseMax = Math.min(connection.responseMax, Math.max(1, connection.reqsMade));
  }, job.maxMs);
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
  clearTimeout(timeUp);
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

/** Set as `workerData` when setup.ts starts this file as the load generator's thread. */
export interface LoadGeneratorThreadData {
  loadGenerator: true;
}

if (parentPort && (workerData as LoadGeneratorThreadData | undefined)?.loadGenerator) {
  const port = parentPort;
  port.on("message", (job: Job) => {
    void runJob(job).then((result) => port.postMessage(result));
  });
}
