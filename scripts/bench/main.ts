/**
 * `npm run bench`: this project's Worker side by side with the floor (one bare EVALSHA per request) and a
 * Worker built on @upstash/ratelimit, all three bundled as deployed, each in workerd, against one
 * redis-server behind the project's REST server (and, with --ceilings, three references that answer as the
 * SPEC says with no limiter's work); with --rtt, through a proxy that delays every round trip. Every
 * workload runs against every Worker in alternating rounds (A B C, B C A, C A B, ...), so the machine's
 * noise hits all alike, and the results are given as ratios, which carry over between machines better
 * than absolute figures. See docs/benchmarks.md.
 */
import { loadSettings } from "../../src/settings.ts";
import { startLocalRedisRest } from "../local-redis.ts";
import { BUDGET_PER_WORKER_AND_WORKLOAD_MS, parseOptions } from "./options.ts";
import { measureOutage } from "./outage.ts";
import { connectRedisStats } from "./redis-stats.ts";
import { CEILINGS, formatWorkloadTable, LEGEND, WORKER_NAMES, type WorkerName } from "./report.ts";
import { runRounds } from "./rounds.ts";
import { buildBundles, loadScript, startDelayProxyThread, startLoadGenerator, varsFor } from "./setup.ts";
import { type RunningWorker, startWorker } from "./workers.ts";
import { describeWorkload, WORKLOADS } from "./workloads.ts";

async function main() {
  const options = parseOptions();
  const stops: Array<() => Promise<unknown>> = [];
  let stopping: Promise<void> | undefined;
  const stopAll = () => {
    stopping ??= (async () => {
      for (const stop of stops.reverse()) await stop().catch(() => {});
    })();
    return stopping;
  };
  for (const [signal, code] of [
    ["SIGINT", 130],
    ["SIGTERM", 143],
  ] as const) {
    process.on(signal, () => void stopAll().finally(() => process.exit(code)));
  }

  try {
    const redis = await startLocalRedisRest();
    stops.push(redis.stop);
    const stats = connectRedisStats(redis.redisUrl);
    stops.push(stats.close);
    const abortBuild = new AbortController();
    stops.push(async () => abortBuild.abort());
    const bundles = await buildBundles(abortBuild.signal);
    const names: WorkerName[] = [...WORKER_NAMES, ...(options.ceilings ? CEILINGS : [])];
    await loadScript(redis);
    // The Workers' endpoint: the REST server, or the delay proxy in front of it. The bench's own calls
    // (SCRIPT LOAD, the command counts) go straight to it.
    let endpoint = { url: redis.url, token: redis.token };
    if (options.rttMs > 0) {
      const proxy = await startDelayProxyThread(redis.url, options.rttMs);
      stops.push(proxy.stop);
      endpoint = { url: proxy.url, token: redis.token };
      console.log(
        `every call from the Workers to the REST endpoint goes through a proxy adding ${options.rttMs} ms to its round trip`,
      );
    }

    const checkUrls: Partial<Record<WorkerName, string>> = {};
    for (const name of names) {
      const worker: RunningWorker = await startWorker(
        name.replace(/\W+/g, "-"),
        bundles[name].script,
        varsFor(name, endpoint),
      );
      stops.push(() => worker.dispose());
      checkUrls[name] = worker.checkUrl;
    }

    const { run, stop } = startLoadGenerator();
    stops.push(stop);
    const budgetMs = BUDGET_PER_WORKER_AND_WORKLOAD_MS * names.length * options.workloads.length;
    // This Worker gives back what is left of a lease LEASE_MS after the reply that brought it, which may
    // come a round trip after its job's last answer; the give-back reaches Redis within another.
    const { LEASE_MS: leaseMs } = loadSettings(varsFor("this Worker", endpoint)); // as the Worker reads it
    const settleMs = { "this Worker": leaseMs + 2 * options.rttMs + 100 };
    const table = await runRounds(checkUrls, run, stats, options, budgetMs, settleMs);

    const gzip = Object.fromEntries(names.map((name) => [name, bundles[name].gzipBytes]));
    const rtt = options.rttMs > 0 ? `, ${options.rttMs} ms added to each round trip to Redis` : "";
    for (const [w, name] of options.workloads.entries()) {
      const workload = WORKLOADS[name];
      const title = `\n${describeWorkload(workload)}: ${options.rounds} rounds, ${options.concurrency} connections${rtt}`;
      console.log(formatWorkloadTable(title, names, table[w] ?? [], gzip as Record<WorkerName, number>));
    }
    console.log(`\n${LEGEND}`);
    console.log("\noutage (this Worker, REST endpoint refusing connections):");
    const ours = bundles["this Worker"].script;
    for (const line of await measureOutage(ours, run, options.concurrency)) console.log(line);
  } catch (error) {
    console.error(`bench: ${error instanceof Error ? error.message : String(error)}`);
    process.exitCode = 1;
  } finally {
    await stopAll();
  }
}

await main();
