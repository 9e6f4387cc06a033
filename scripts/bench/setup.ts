/**
 * What both measurements set up alike (main.ts, by time; instructions.ts, by instruction count): the
 * Workers' bundles, the token-bucket script loaded in Redis, each Worker's environment, the load generator.
 */
import { once } from "node:events";
import { Worker } from "node:worker_threads";
import { TOKEN_BUCKET_SCRIPT } from "../../src/limiter/token-bucket-script.ts";
import { ROOMY_TIER } from "./bench-tiers.ts";
import { type Bundle, buildPeer, buildThisWorker } from "./builds.ts";
import type { DelayProxyThreadData } from "./delay-proxy.ts";
import type { Job, JobResult, LoadGeneratorThreadData } from "./load.ts";
import type { WorkerName } from "./report.ts";
import { deployedVars } from "./workers.ts";

/** A REST endpoint's URL and token. */
interface Rest {
  url: string;
  token: string;
}

/** Every Worker's bundle. */
export async function buildBundles(signal: AbortSignal): Promise<Record<WorkerName, Bundle>> {
  const [ours, floor, upstash, floorAnswer, answerOnly, inputAnswer] = await Promise.all([
    buildThisWorker(signal, [ROOMY_TIER]),
    buildPeer("floor-worker.ts"),
    buildPeer("upstash-worker.ts"),
    buildPeer("floor-answer-worker.ts"),
    buildPeer("answer-only-worker.ts"),
    buildPeer("input-answer-worker.ts", [ROOMY_TIER]),
  ]);
  return {
    "this Worker": ours,
    floor,
    "@upstash/ratelimit": upstash,
    "floor + answer": floorAnswer,
    "answer only": answerOnly,
    "input + answer": inputAnswer,
  };
}

/** SCRIPT LOAD through the REST endpoint, so the floor's EVALSHA never meets NOSCRIPT. */
export async function loadScript(rest: Rest): Promise<void> {
  const response = await fetch(rest.url, {
    method: "POST",
    headers: { authorization: `Bearer ${rest.token}`, "content-type": "application/json" },
    body: JSON.stringify(["SCRIPT", "LOAD", TOKEN_BUCKET_SCRIPT]),
  });
  if (response.status !== 200) throw new Error(`SCRIPT LOAD: ${response.status} ${await response.text()}`);
}

/**
 * A Worker's environment: the REST endpoint for all; for this project's Worker also wrangler.toml's
 * `[vars]`, with LOG_LEVEL=ERROR and `ours` on top.
 */
export function varsFor(name: WorkerName, rest: Rest, ours: Record<string, string> = {}) {
  const endpoint = { UPSTASH_REDIS_REST_URL: rest.url, UPSTASH_REDIS_REST_TOKEN: rest.token };
  return name === "this Worker" ? { ...deployedVars, ...endpoint, LOG_LEVEL: "ERROR", ...ours } : endpoint;
}

/**
 * The delay proxy (delay-proxy.ts) in a worker thread of its own, in front of `target`, adding `rttMs` to
 * each round trip: on this thread its work would queue in front of the REST server's.
 */
export async function startDelayProxyThread(target: string, rttMs: number) {
  const workerData: DelayProxyThreadData = { delayProxy: { target, rttMs } };
  const thread = new Worker(new URL("./delay-proxy.ts", import.meta.url), { workerData });
  const [url] = (await once(thread, "message")) as [string];
  const stop = async () => {
    const exited = once(thread, "exit");
    thread.postMessage("close");
    await exited;
  };
  return { url, stop };
}

/**
 * The load generator in its worker thread (load.ts: the REST server runs on this thread, and the client's
 * work must not queue in front of it), and how to run one job on it at a time.
 */
export function startLoadGenerator() {
  const workerData: LoadGeneratorThreadData = { loadGenerator: true };
  const thread = new Worker(new URL("./load.ts", import.meta.url), { workerData });
  const run = async (job: Job): Promise<JobResult> => {
    thread.postMessage(job);
    const [result] = (await once(thread, "message")) as [JobResult];
    return result;
  };
  return { run, stop: () => thread.terminate() };
}
