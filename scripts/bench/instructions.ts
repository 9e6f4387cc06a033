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
import { COMPILING, costOf, perfMapNamer, selfCosts, totalOf } from "./callgrind-dump.ts";
import { connectRedisStats, totalCalls } from "./redis-stats.ts";
import { CEILINGS, ratio, WORKER_NAMES, type WorkerName } from "./report.ts";
import { buildBundles, loadScript, startLoadGenerator, varsFor } from "./setup.ts";
import { type RunningWorker, startWorker } from "./workers.ts";
import { describeWorkload, parseWorkloads, WORKLOAD_NAMES, WORKLOADS } from "./workloads.ts";

const USAGE = `Usage: npm run bench:instructions -- [--workloads LIST] [--requests N] [--warm-up W] [--ceilings]
                                   [--profile N]
  --workloads LIST comma-separated, from ${WORKLOAD_NAMES.join(", ")} (default: spread,hot; each
                   workload adds about 3 minutes under callgrind)
  --requests N     measured requests per Worker and workload (default 400)
  --warm-up W      requests before counting, so that V8 has compiled the hot code (default 1000)
  --ceilings       also the three references of npm run bench -- --ceilings
  --profile N      also each Worker's N costliest functions, by their own instructions per request
                   (with --ceilings: by how many more than answer only's), V8's compiled JavaScript
                   named from its perf map (default 0: none)`;

const CONCURRENCY = 8;
const V8_FLAGS = "--no-concurrent-recompilation --no-concurrent-sparkplug";
/** With --profile: V8 names its code in a perf map (/tmp/perf-<pid>.map), and logs into workerd's directory. */
const PROFILE_FLAGS = "--perf-basic-prof";

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
      profile: { type: "string", default: "0" },
      help: { type: "boolean", default: false },
    },
  });
  if (values.help) {
    process.stdout.write(`${USAGE}\n`);
    process.exit(0);
  }
  const requests = Number(values.requests);
  const warmUp = Number(values["warm-up"]);
  const profile = Number(values.profile);
  if (!Number.isInteger(requests) || requests < 1) fail("--requests must be a positive integer");
  if (!Number.isInteger(warmUp) || warmUp < 0) fail("--warm-up must be an integer of 0 or more");
  if (!Number.isInteger(profile) || profile < 0) fail("--profile must be an integer of 0 or more");
  let workloads: ReturnType<typeof parseWorkloads> = [];
  try {
    workloads = parseWorkloads(values.workloads);
  } catch (error) {
    fail(error instanceof Error ? error.message : String(error));
  }
  return { workloads, requests, warmUp, ceilings: values.ceilings, profile };
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

/** What callgrind counted since the last zeroing, from the newest dump it wrote for `pid`. */
async function dumped(dir: string, pid: number): Promise<{ dump: string; instructions: number }> {
  execFileSync("callgrind_control", ["-d", String(pid)], { stdio: "ignore" });
  const dumps = (await readdir(dir)).filter((file) => file.startsWith(`cg.${pid}.`));
  const newest = dumps.sort((a, b) => Number(a.split(".").pop()) - Number(b.split(".").pop())).at(-1);
  if (newest === undefined) throw new Error(`callgrind wrote no dump for ${pid}`);
  const dump = await readFile(join(dir, newest), "utf8");
  const instructions = totalOf(dump);
  if (instructions === undefined) throw new Error(`no total in ${newest}`);
  return { dump, instructions };
}

/** One Worker's functions by the instructions each ran of its own, per request. */
type Profile = Map<string, number>;

/**
 * `costs` (from one dump) per request, V8's code named from the perf map workerd `pid` wrote, and with
 * the start of its minified source in `script` where its name gives a position (`index.js:1:9171`).
 */
async function profileOf(costs: Map<string, number>, pid: number, script: string, requests: number) {
  const mapFile = `/tmp/perf-${pid}.map`;
  const named = perfMapNamer(await readFile(mapFile, "utf8").catch(() => ""));
  await rm(mapFile, { force: true });
  const lines = script.split("\n");
  const sourceAt = (name: string) => {
    const [, line, column] = / index\.js:(\d+):(\d+)$/.exec(name) ?? [];
    const source = lines[Number(line) - 1]?.slice(Number(column) - 1, Number(column) + 49);
    return source ? ` ${JSON.stringify(source)}` : "";
  };
  const profile: Profile = new Map();
  for (const [address, cost] of costs) {
    const name = named(address);
    const shown = name + sourceAt(name);
    profile.set(shown, (profile.get(shown) ?? 0) + cost / requests);
  }
  return profile;
}

/**
 * Each Worker's `top` functions by their own instructions per request; beside a `reference` Worker, by
 * how many more it runs than the reference's function of the same name (its JavaScript's names are its
 * own; builtins' and workerd's are the same in every Worker).
 */
function formatProfiles(profiles: Map<WorkerName, Profile>, top: number, reference?: WorkerName): string {
  const k = (cost: number) => `${(cost / 1000).toFixed(2)}k`.padStart(9);
  const blocks = [...profiles].map(([name, profile]) => {
    const base = reference === undefined || name === reference ? undefined : profiles.get(reference);
    const excess = ([fn, cost]: [string, number]) => cost - (base?.get(fn) ?? 0);
    const rows = [...profile]
      .sort((a, b) => excess(b) - excess(a))
      .slice(0, top)
      .map(([fn, cost]) => `${k(cost)}${base ? k(base.get(fn) ?? 0) : ""}  ${fn.slice(0, 160)}`);
    const heading = base
      ? `${name}: its ${top} functions running the most instructions a request more than ${reference}'s` +
        `\n${"its own".padStart(9)}${"theirs".padStart(9)}`
      : `${name}: its ${top} functions running the most instructions a request`;
    return [heading, ...rows].join("\n");
  });
  return `\n${blocks.join("\n\n")}`;
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
      // From the temporary directory, where V8 writes its logs when asked to profile (--profile).
      `#!/bin/sh\ncd ${dir} && exec valgrind --tool=callgrind -q --callgrind-out-file=${dir}/cg.%p ${workerdPath()} "$@"\n`,
    );
    await chmod(wrapper, 0o755);
    process.env.MINIFLARE_WORKERD_PATH = wrapper;
    const v8Flags = options.profile > 0 ? `${V8_FLAGS} ${PROFILE_FLAGS}` : V8_FLAGS;
    process.env.MINIFLARE_WORKERD_V8_FLAGS = v8Flags;

    const bundles = await buildBundles(new AbortController().signal);
    await loadScript(redis);
    const names: WorkerName[] = [...WORKER_NAMES, ...(options.ceilings ? CEILINGS : [])];
    console.log(
      `${options.requests} requests per Worker and workload after ${options.warmUp} of warm-up, ` +
        `${CONCURRENCY} connections, workerd under callgrind with V8 flags "${v8Flags}"`,
    );
    for (const workload of options.workloads.map((name) => WORKLOADS[name])) {
      const counts = new Map<WorkerName, Count>();
      const profiles = new Map<WorkerName, Profile>();
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
          const { dump, instructions } = await dumped(dir, pid);
          const costs = selfCosts(dump);
          const compiling = costOf(costs, COMPILING);
          if (options.profile > 0) {
            profiles.set(name, await profileOf(costs, pid, bundles[name].script, measured.done));
          }
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
      if (options.profile > 0) {
        const reference = names.includes("answer only") ? "answer only" : undefined;
        console.log(formatProfiles(profiles, options.profile, reference));
      }
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
  ["input + answer", "vs input+answer"],
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
 * --ceilings) to input + answer and answer only, then the compiling left out of them and the Redis
 * commands per request.
 * Under valgrind a request takes about 50 times longer, so a Worker that calls Redis on a clock (when a
 * bucket may have refilled, when a lease ends) makes about 50 times as many of those calls per request
 * as in the timed bench: compare its commands with the timed bench's before reading its count as the
 * cost of a request.
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
