/**
 * `npm run bench:instructions`: the instructions the workerd process runs per request, for each Worker of
 * the bench and each workload, counted by valgrind's callgrind. Time on a shared machine swings by tens of
 * percent between rounds; instruction counts move by a few percent, so this settles what the timed bench
 * cannot, at the price of speed (workerd runs ~50 times slower) and of everything a count does not see
 * (waiting on Redis, cache misses). The counts include what every Worker pays alike: workerd's HTTP, the
 * body (each Worker is reached on its own socket, without Miniflare's entry Worker: workers.ts). See
 * docs/benchmarks.md.
 *
 * Each Worker runs alone under valgrind: a warm-up, counters zeroed, the measured requests, counters
 * dumped. V8 compiles on its main thread (its background compilers lag under valgrind, which would leave
 * the Workers with the most JavaScript running interpreted), and this project's deadline is raised, since
 * under valgrind every call would miss it.
 */
import { execFileSync } from "node:child_process";
import { chmod, mkdtemp, readdir, readFile, rm, writeFile } from "node:fs/promises";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { startLocalRedisRest } from "../local-redis.ts";
import { COMPILING, selfCostIn, totalOf } from "./callgrind-dump.ts";
import { connectRedisStats, totalCalls } from "./redis-stats.ts";
import { CEILINGS, ratio, WORKER_NAMES, type WorkerName } from "./report.ts";
import { buildBundles, loadScript, startLoadGenerator, varsFor } from "./setup.ts";
import { type RunningWorker, startWorker } from "./workers.ts";
import { describeWorkload, parseWorkloads, WORKLOAD_NAMES, WORKLOADS } from "./workloads.ts";

const USAGE = `Usage: npm run bench:instructions -- [--workloads LIST] [--requests N] [--warm-up W] [--ceilings]
  --workloads LIST comma-separated, from ${WORKLOAD_NAMES.join(", ")} (default: spread,hot; each
                   workload adds about 3 minutes under callgrind)
  --requests N     measured requests per Worker and workload (default 400)
  --warm-up W      requests before counting, so that V8 has compiled the hot code (default 1000)
  --ceilings       also the two references of npm run bench -- --ceilings`;

const CONCURRENCY = 8;
const V8_FLAGS = "--no-concurrent-recompilation --no-concurrent-sparkplug";

function parseOptions() {
  const fail = (message: string): never => {
    process.stderr.write(`bench:instructions: ${message}\n\n${USAGE}\n`);
    process.exit(2);
  };
  const { values } = parseArgs({
    options: {
      workloads: { type: "string", default: "spread,hot" },
      requests: { type: "string", default: "400" },
      "warm-up": { type: "string", default: "1000" },
      ceilings: { type: "boolean", default: false },
      help: { type: "boolean", default: false },
    },
  });
  if (values.help) {
    process.stdout.write(`${USAGE}\n`);
    process.exit(0);
  }
  const requests = Number(values.requests);
  const warmUp = Number(values["warm-up"]);
  if (!Number.isInteger(requests) || requests < 1) fail("--requests must be a positive integer");
  if (!Number.isInteger(warmUp) || warmUp < 0) fail("--warm-up must be an integer of 0 or more");
  let workloads: ReturnType<typeof parseWorkloads> = [];
  try {
    workloads = parseWorkloads(values.workloads);
  } catch (error) {
    fail(error instanceof Error ? error.message : String(error));
  }
  return { workloads, requests, warmUp, ceilings: values.ceilings };
}

/** The workerd binary Miniflare would run, which the wrapper hands to valgrind. */
function workerdPath(): string {
  const require = createRequire(import.meta.url);
  const workerd = require(require.resolve("workerd", { paths: [require.resolve("miniflare")] }));
  return workerd.default as string;
}

/** This process's child processes, by pid. */
function children(): Set<number> {
  const out = execFileSync("ps", ["--ppid", String(process.pid), "-o", "pid="], { encoding: "utf8" });
  return new Set(out.split("\n").filter(Boolean).map(Number));
}

/** What a dump counted: all instructions, and those V8's optimizing compilers ran. */
interface Dumped {
  instructions: number;
  compiling: number;
}

/** Instructions counted since the last zeroing, from the newest dump callgrind wrote for `pid`. */
async function dumpedInstructions(dir: string, pid: number): Promise<Dumped> {
  execFileSync("callgrind_control", ["-d", String(pid)], { stdio: "ignore" });
  const dumps = (await readdir(dir)).filter((file) => file.startsWith(`cg.${pid}.`));
  const newest = dumps.sort((a, b) => Number(a.split(".").pop()) - Number(b.split(".").pop())).at(-1);
  if (newest === undefined) throw new Error(`callgrind wrote no dump for ${pid}`);
  const dump = await readFile(join(dir, newest), "utf8");
  const instructions = totalOf(dump);
  if (instructions === undefined) throw new Error(`no total in ${newest}`);
  return { instructions, compiling: selfCostIn(dump, COMPILING) };
}

async function main() {
  const options = parseOptions();
  for (const tool of ["valgrind", "callgrind_control"]) {
    try {
      execFileSync("which", [tool], { stdio: "ignore" });
    } catch {
      throw new Error(`${tool} is not on PATH (Debian: apt-get install valgrind)`);
    }
  }
  const dir = await mkdtemp(join(tmpdir(), "rate-limiter-callgrind-"));
  const redis = await startLocalRedisRest();
  const stats = connectRedisStats(redis.redisUrl);
  const { run, stop: stopLoad } = startLoadGenerator();
  let worker: RunningWorker | undefined;
  const cleanUp = async () => {
    await worker?.dispose().catch(() => {});
    await stopLoad();
    await stats.close();
    await redis.stop();
    await rm(dir, { recursive: true, force: true });
  };
  for (const signal of ["SIGINT", "SIGTERM"] as const) {
    process.once(signal, () => void cleanUp().finally(() => process.exit(130)));
  }
  try {
    const wrapper = join(dir, "workerd");
    await writeFile(
      wrapper,
      `#!/bin/sh\nexec valgrind --tool=callgrind -q --callgrind-out-file=${dir}/cg.%p ${workerdPath()} "$@"\n`,
    );
    await chmod(wrapper, 0o755);
    process.env.MINIFLARE_WORKERD_PATH = wrapper;
    process.env.MINIFLARE_WORKERD_V8_FLAGS = V8_FLAGS;

    const bundles = await buildBundles(new AbortController().signal);
    await loadScript(redis);
    const names: WorkerName[] = [...WORKER_NAMES, ...(options.ceilings ? CEILINGS : [])];
    console.log(
      `${options.requests} requests per Worker and workload after ${options.warmUp} of warm-up, ` +
        `${CONCURRENCY} connections, workerd under callgrind with V8 flags "${V8_FLAGS}"`,
    );
    for (const workload of options.workloads.map((name) => WORKLOADS[name])) {
      const counts = new Map<WorkerName, Count>();
      for (const name of names) {
        const before = children();
        // A deadline under valgrind would fail every call: raise it out of the way.
        const vars = varsFor(name, redis, { REDIS_TIMEOUT_MS: "60000" });
        worker = await startWorker(name.replace(/\W+/g, "-"), bundles[name].script, vars);
        try {
          const [pid] = [...children()].filter((child) => !before.has(child));
          if (pid === undefined) throw new Error(`no workerd process found for ${name}`);
          const job = { url: worker.checkUrl, workload, concurrency: CONCURRENCY, maxMs: 3_600_000 };
          const okStatuses = [200, 429];
          await run({ ...job, requests: options.warmUp, offset: 1_000_000, okStatuses });
          await stats.reset();
          execFileSync("callgrind_control", ["-z", String(pid)], { stdio: "ignore" });
          const measured = await run({ ...job, requests: options.requests, offset: 0, okStatuses });
          if (measured.errors > 0)
            throw new Error(`${name}: ${measured.errors} errors, first: ${measured.firstError}`);
          const { instructions, compiling } = await dumpedInstructions(dir, pid);
          counts.set(name, {
            instructions: (instructions - compiling) / measured.done,
            compiling: compiling / measured.done,
            commands: totalCalls(await stats.read()) / measured.done,
          });
        } finally {
          await worker.dispose();
          worker = undefined;
        }
      }
      console.log(`\n${describeWorkload(workload)}`);
      console.log(formatCounts(names, counts));
    }
    console.log(
      "\nAs throughput: the reference's count divided by the row's (fewer instructions, more decisions/s)." +
        "\nCounts leave out V8's optimizing compilers (k compiling), a one-off per function that a long-lived" +
        "\nisolate spreads over far more requests than these.",
    );
  } finally {
    await cleanUp();
  }
}

/** The Workers each count is also given as a ratio to, with their column's heading. */
const REFERENCES: ReadonlyArray<readonly [WorkerName, string]> = [
  ["floor", "vs floor"],
  ["@upstash/ratelimit", "vs @upstash"],
  ["answer only", "vs answer only"],
];

/** What one Worker ran per request on one workload. */
interface Count {
  /** Instructions, less those of V8's optimizing compilers. */
  instructions: number;
  /** Those of V8's optimizing compilers, left out of `instructions`: see `COMPILING`. */
  compiling: number;
  /** Redis commands, script calls among them: a call costs many requests' instructions. */
  commands: number;
}

/**
 * One workload's counts, each as a throughput ratio to the floor, to @upstash/ratelimit and (with
 * --ceilings) to answer only, then the compiling left out of them and the Redis commands per request. Under valgrind a request takes about
 * 50 times longer, so a Worker that calls Redis on a clock (when a bucket may have refilled, when a
 * lease ends) makes about 50 times as many of those calls per request as in the timed bench: compare
 * its commands with the timed bench's before reading its count as the cost of a request.
 */
function formatCounts(names: readonly WorkerName[], counts: Map<WorkerName, Count>): string {
  const cell = (text: string) => text.padStart(16);
  const instructions = (name: WorkerName) => counts.get(name)?.instructions ?? Number.NaN;
  const references = REFERENCES.filter(([name]) => names.includes(name));
  const lines = [
    "".padEnd(22) +
      cell("k instr/request") +
      references.map(([, label]) => cell(label)).join("") +
      cell("k compiling") +
      cell("cmds/request"),
  ];
  for (const name of names) {
    lines.push(
      name.padEnd(22) +
        cell((instructions(name) / 1000).toFixed(0)) +
        references.map(([reference]) => cell(ratio(instructions(reference), instructions(name)))).join("") +
        cell(((counts.get(name)?.compiling ?? Number.NaN) / 1000).toFixed(1)) +
        cell((counts.get(name)?.commands ?? Number.NaN).toFixed(2)),
    );
  }
  return lines.join("\n");
}

await main().catch((error: unknown) => {
  console.error(`bench:instructions: ${error instanceof Error ? error.message : String(error)}`);
  process.exitCode = 1;
});
