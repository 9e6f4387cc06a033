/**
 * `npm run bench`: is the project's REST server fast enough not to be the bottleneck of a decision?
 * Runs, in alternating rounds so the machine's noise hits all alike, over HTTP on 127.0.0.1:
 *   A   POST /check on the built Worker (one decision: one EVALSHA through the REST server);
 *   B   that same EVALSHA sent straight to the REST server, as @upstash/redis sends it;
 *   B'  PING on the REST server, the floor of any command.
 * and prints ratios, since absolute times on one machine do not carry over to another.
 *
 * The load comes from a worker thread: the REST server runs in this process (startLocalRedisRest), and
 * on the same event loop the client's own work would queue in front of the server's and inflate B.
 */
import { execFile } from "node:child_process";
import { once } from "node:events";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import http from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseArgs, promisify } from "node:util";
import { isMainThread, parentPort, Worker, workerData } from "node:worker_threads";
import type { Json } from "miniflare";
import { config } from "../src/config/tiers.generated.ts";
import { TOKEN_BUCKET_SCRIPT } from "../src/limiter/token-bucket-script.ts";
import { startLocalRedisRest } from "./local-redis.ts";

type Variant = "check" | "evalsha" | "ping";
interface Targets {
  worker: string;
  rest: string;
  token: string;
  sha: string;
}
interface Job {
  variant: Variant;
  tag: string;
  requests: number;
  concurrency: number;
  maxMs: number;
}
interface Result {
  done: number;
  errors: number;
  firstError?: string;
  rps: number;
  p50: number;
  p99: number;
}

const VARIANTS: Array<[Variant, string]> = [
  ["check", "A  Worker POST /check"],
  ["evalsha", "B  REST EVALSHA"],
  ["ping", "B' REST PING"],
];
/** Measuring time, all rounds together; startup (build, redis-server, workerd) adds ~5 s. */
const BUDGET_MS = 40_000;
const USAGE = `Usage: npm run bench -- [--requests N] [--concurrency C] [--rounds R]
  --requests N     per variant per round (default 2000; each also stops at its share of ${BUDGET_MS / 1000} s)
  --concurrency C  requests in flight (default 8)
  --rounds R       rounds of A, B, B' (default 5)`;

// ---- The load generator (worker thread) ----

/**
 * The request a variant sends for identifier `id`, and how to tell its answer is a success. Every request
 * has an identifier of its own, so every bucket starts full and no answer is a 429.
 */
function requestFor(targets: Targets, variant: Variant, id: string) {
  if (variant === "check") {
    const body = JSON.stringify({ identifier: id });
    return {
      url: `${targets.worker}check`,
      headers: {},
      body,
      ok: (text: string) => text.includes('"allowed":true'),
    };
  }
  // What @upstash/redis sends for createScript(...).exec([key], args): the Worker's key and ARGV.
  const tier = config.tiers[config.default_tier];
  const argv = [tier.limit, Math.round(tier.window * 1000), Date.now(), 1].map(String);
  const command =
    variant === "evalsha"
      ? ["evalsha", targets.sha, 1, `ratelimit:${config.default_tier}:${id}`, ...argv]
      : ["ping"];
  return {
    url: `${targets.rest}/`,
    headers: { authorization: `Bearer ${targets.token}`, "upstash-encoding": "base64" },
    body: JSON.stringify(command),
    ok: (text: string) => variant === "ping" || text.startsWith('{"result":[1,'),
  };
}

function post(url: string, headers: http.OutgoingHttpHeaders, body: string, agent: http.Agent) {
  return new Promise<[number, string]>((resolve, reject) => {
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
async function runJob(targets: Targets, job: Job): Promise<Result> {
  const agent = new http.Agent({ keepAlive: true, maxSockets: job.concurrency });
  const latencies: number[] = [];
  let next = 0;
  let errors = 0;
  let firstError: string | undefined;
  const started = performance.now();
  const stopAt = started + job.maxMs;
  async function lane() {
    while (next < job.requests && performance.now() < stopAt) {
      const { url, headers, body, ok } = requestFor(targets, job.variant, `bench-${job.tag}-${next++}`);
      const sent = performance.now();
      try {
        const [status, text] = await post(
          url,
          { ...headers, "content-type": "application/json", "content-length": Buffer.byteLength(body) },
          body,
          agent,
        );
        if (status !== 200 || !ok(text)) throw new Error(`${status} ${text.slice(0, 200)}`);
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
  return {
    done: latencies.length,
    errors,
    firstError,
    rps: latencies.length / seconds,
    p50: at(0.5),
    p99: at(0.99),
  };
}

// ---- The run (main thread) ----

function parseOptions() {
  const integer = (name: string, text: string | undefined, fallback: number, max: number) => {
    const value = Number(text ?? fallback);
    if (!Number.isInteger(value) || value < 1 || value > max) {
      process.stderr.write(`bench: --${name} must be an integer from 1 to ${max}\n\n${USAGE}\n`);
      process.exit(2);
    }
    return value;
  };
  let values: { requests?: string; concurrency?: string; rounds?: string; help?: boolean };
  try {
    ({ values } = parseArgs({
      options: {
        requests: { type: "string" },
        concurrency: { type: "string" },
        rounds: { type: "string" },
        help: { type: "boolean" },
      },
    }));
  } catch (error) {
    process.stderr.write(`bench: ${error instanceof Error ? error.message : error}\n\n${USAGE}\n`);
    process.exit(2);
  }
  if (values.help) {
    process.stdout.write(`${USAGE}\n`);
    process.exit(0);
  }
  return {
    requests: integer("requests", values.requests, 2000, 1_000_000),
    concurrency: integer("concurrency", values.concurrency, 8, 256),
    rounds: integer("rounds", values.rounds, 5, 100),
  };
}

/** The Worker's bundle exactly as `wrangler deploy` would upload it (one ES module). */
async function buildWorker(signal: AbortSignal): Promise<string> {
  const outdir = await mkdtemp(join(tmpdir(), "rate-limiter-bench-"));
  try {
    // This Node, whatever `node` comes first on PATH: wrangler needs Node 22.
    const args = ["node_modules/wrangler/bin/wrangler.js", "deploy", "--dry-run", "--outdir", outdir];
    await promisify(execFile)(process.execPath, args, { signal }).catch(
      (error: { stdout?: string; stderr?: string; message: string }) => {
        throw new Error(
          `wrangler deploy --dry-run failed: ${error.stdout ?? ""}${error.stderr ?? error.message}`,
        );
      },
    );
    return await readFile(join(outdir, "index.js"), "utf8");
  } finally {
    await rm(outdir, { recursive: true, force: true });
  }
}

/**
 * The bundle with wrangler.toml's date, flags and vars, in workerd through the pinned Miniflare.
 * Miniflare rather than wrangler's unstable_startWorker: the latter puts its dev proxy Worker in front,
 * one more hop that would be counted against the Worker. Imported here, not at the top: the load
 * thread runs this file too and needs neither.
 */
async function startWorker(script: string, redis: { url: string; token: string }) {
  const { unstable_readConfig } = await import("wrangler");
  const { Log, LogLevel, Miniflare } = await import("miniflare");
  const wrangler = unstable_readConfig({ config: "wrangler.toml" }, { hideWarnings: true });
  if (!wrangler.compatibility_date) throw new Error("wrangler.toml has no compatibility_date");
  const vars = {
    ...wrangler.vars,
    UPSTASH_REDIS_REST_URL: redis.url,
    UPSTASH_REDIS_REST_TOKEN: redis.token,
    LOG_LEVEL: "ERROR",
  };
  const env = Object.fromEntries(
    Object.entries(vars).map(([name, value]) => [
      name,
      typeof value === "string"
        ? { type: "text" as const, value }
        : { type: "json" as const, value: value as Json },
    ]),
  );
  return new Miniflare({
    host: "127.0.0.1",
    port: 0,
    log: new Log(LogLevel.ERROR),
    logRequests: false,
    enableDevRegistry: false,
    workers: [
      {
        config: {
          name: "rate-limiter",
          compatibilityDate: wrangler.compatibility_date,
          compatibilityFlags: wrangler.compatibility_flags,
          manifest: {
            mainModule: "index.js",
            modules: {
              "index.js": { type: "esm", contents: script },
            },
          },
          env,
        },
        dev: { unsafeRegisterWorker: false },
      },
    ],
  });
}

/** SCRIPT LOAD, so that B's EVALSHA, and the Worker's, never meet NOSCRIPT and fall back to EVAL. */
async function loadScript(rest: { url: string; token: string }): Promise<string> {
  const response = await fetch(rest.url, {
    method: "POST",
    headers: { authorization: `Bearer ${rest.token}`, "content-type": "application/json" },
    body: JSON.stringify(["script", "load", TOKEN_BUCKET_SCRIPT]),
  });
  const { result } = (await response.json()) as { result?: unknown };
  if (response.status !== 200 || typeof result !== "string")
    throw new Error(`SCRIPT LOAD: ${response.status}`);
  return result;
}

const median = (values: number[]) => {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? (sorted[mid] ?? 0) : ((sorted[mid - 1] ?? 0) + (sorted[mid] ?? 0)) / 2;
};
const range = (values: number[]) => `${Math.min(...values).toFixed(2)}–${Math.max(...values).toFixed(2)}`;

const HEADER = "round  variant                 requests    req/s   p50 ms   p99 ms";
function formatRow(round: number, label: string, result: Result): string {
  const cells = [result.done, result.rps.toFixed(0), result.p50.toFixed(2), result.p99.toFixed(2)];
  const errors = result.errors ? `  ${result.errors} errors, first: ${result.firstError}` : "";
  const columns = cells.map((cell) => String(cell).padStart(9)).join("");
  return `${String(round).padStart(5)}  ${label.padEnd(22)}${columns}${errors}`;
}

/** The ratios, each the median over rounds: a round's A and B ran back to back, under the same noise. */
function summarize(table: Array<Record<Variant, Result>>, concurrency: number): string {
  const timeRatios = table.map((row) => row.evalsha.rps / row.check.rps);
  const p50Ratios = table.map((row) => row.check.p50 / row.evalsha.p50);
  const ratio = median(timeRatios);
  const p50Ratio = median(p50Ratios);
  const restShare = (100 / ratio).toFixed(0);
  const pingShare = (100 * median(table.map((row) => row.evalsha.rps / row.ping.rps))).toFixed(0);
  return [
    `A/B, time per request (1 / req/s):  median ${ratio.toFixed(2)}  (rounds ${range(timeRatios)})`,
    `A/B, p50 latency:                   median ${p50Ratio.toFixed(2)}  (rounds ${range(p50Ratios)})`,
    `A decision takes ${ratio.toFixed(1)}x the time of the bare EVALSHA it makes: the REST server,`,
    `with Redis and the HTTP hop to it, is at most ${restShare}% of a decision's time`,
    `at concurrency ${concurrency}; the rest is workerd and the Worker.`,
    `A PING takes ${pingShare}% of an EVALSHA's time: that much of B is the HTTP round trip,`,
    "the rest is the script in Redis.",
  ].join("\n");
}

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
    const abortBuild = new AbortController();
    const building = buildWorker(abortBuild.signal);
    stops.push(async () => {
      abortBuild.abort();
      await building.catch(() => {});
    });
    // Miniflare's own Ctrl+C hook stops workerd and exits at once, without waiting for this cleanup;
    // the redis-server hook kills it on exit too, so nothing outlives the process either way.
    const mf = await startWorker(await building, redis);
    stops.push(() => mf.dispose());
    const targets: Targets = {
      worker: (await mf.ready).href,
      rest: redis.url,
      token: redis.token,
      sha: await loadScript(redis),
    };
    const load = new Worker(new URL(import.meta.url), { workerData: targets });
    stops.push(() => load.terminate());
    const run = async (job: Job) => {
      load.postMessage(job);
      const [result] = (await once(load, "message")) as [Result];
      return result;
    };

    const { requests, concurrency, rounds } = options;
    const maxMs = BUDGET_MS / (rounds * VARIANTS.length);
    console.log(`bench: ${rounds} rounds x ${requests} requests per variant, concurrency ${concurrency}`);
    for (const [variant] of VARIANTS) {
      await run({ variant, tag: `warm-${variant}`, requests, concurrency, maxMs });
    }
    console.log(HEADER);
    const table: Array<Record<Variant, Result>> = [];
    for (let round = 1; round <= rounds; round++) {
      const row = {} as Record<Variant, Result>;
      for (const [variant, label] of VARIANTS) {
        row[variant] = await run({ variant, tag: `${round}-${variant}`, requests, concurrency, maxMs });
        console.log(formatRow(round, label, row[variant]));
        if (row[variant].errors > 0) throw new Error("requests failed (see above): no ratios from this run.");
      }
      table.push(row);
    }
    console.log(`\n${summarize(table, concurrency)}`);
  } catch (error) {
    console.error(`bench: ${error instanceof Error ? error.message : String(error)}`);
    process.exitCode = 1;
  } finally {
    await stopAll();
  }
}

if (isMainThread) {
  await main();
} else {
  parentPort?.on("message", (job: Job) => {
    void runJob(workerData as Targets, job).then((result) => parentPort?.postMessage(result));
  });
}
