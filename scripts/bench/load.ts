/**
 * The load generator, run in a worker thread: the REST server runs on the main thread (startLocalRedisRest),
 * and on the same event loop the client's own work would queue in front of the server's. It takes a job,
 * sends its requests over `concurrency` keep-alive connections, and answers with what it measured.
 */
import http from "node:http";
import { parentPort } from "node:worker_threads";
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

function post(url: string, body: string, agent: http.Agent) {
  return new Promise<[number, string]>((resolve, reject) => {
    const headers = { "content-type": "application/json", "content-length": Buffer.byteLength(body) };
    const request = http.request(url, { method: "POST", agent, headers }, (response) => {
      let text = "";
      response.setEncoding("utf8");
      response.on("data", (chunk: string) => {
        text += chunk;
      });
      response.on("end", () => resolve([response.statusCode ?? 0, text]));
      response.on("error", reject);
    });
    request.on("error", reject);
    request.end(body);
  });
}

/** `concurrency` lanes, each sending one request after another, until `requests` or `maxMs`. */
export async function runJob(job: Job): Promise<JobResult> {
  const agent = new http.Agent({ keepAlive: true, maxSockets: job.concurrency });
  const latencies: number[] = [];
  const statuses: Record<number, number> = {};
  let next = 0;
  let errors = 0;
  let firstError: string | undefined;
  const started = performance.now();
  const stopAt = started + job.maxMs;
  async function lane() {
    while (next < job.requests && performance.now() < stopAt) {
      const body = requestBody(job.workload, job.offset + next++);
      const sent = performance.now();
      try {
        const [status, text] = await post(job.url, body, agent);
        statuses[status] = (statuses[status] ?? 0) + 1;
        if (!job.okStatuses.includes(status)) throw new Error(`${status} ${text.slice(0, 200)}`);
      } catch (error) {
        errors++;
        firstError ??= error instanceof Error ? error.message : String(error);
      }
      latencies.push(performance.now() - sent);
    }
  }
  await Promise.all(Array.from({ length: job.concurrency }, lane));
  const seconds = (performance.now() - started) / 1000;
  agent.destroy();
  latencies.sort((a, b) => a - b);
  const at = (q: number) => latencies[Math.max(0, Math.ceil(q * latencies.length) - 1)] ?? Number.NaN;
  const done = latencies.length;
  return {
    done,
    statuses,
    errors,
    firstError,
    seconds,
    perSecond: done / seconds,
    p50: at(0.5),
    p99: at(0.99),
  };
}

parentPort?.on("message", (job: Job) => {
  void runJob(job).then((result) => parentPort?.postMessage(result));
});
