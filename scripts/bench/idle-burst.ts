/**
 * `npm run bench:burst -- [--rtt MS] [--rounds R]`: a burst on an idle bucket with Redis away. C
 * connections send at once to one identifier nobody has asked for, each then asking again as soon as
 * it is answered, for a second; this Worker and @upstash/ratelimit in turn, on the bench's roomy tier.
 * It prints how many of the burst's first C requests waited more than one and a half round trips (two
 * round trips, in practice), which the main bench shows only as a share of its p99. Redis on loopback
 * behind the delay proxy, as `npm run bench -- --rtt MS` has it.
 */
import { parseArgs } from "node:util";
import { startLocalRedisRest } from "../local-redis.ts";
import { ROOMY_TIER } from "./bench-tiers.ts";
import { buildPeer, buildThisWorker } from "./builds.ts";
import type { WorkerName } from "./report.ts";
import { loadScript, startDelayProxyThread, varsFor } from "./setup.ts";
import { startWorker } from "./workers.ts";

const CONNECTIONS = 32;
const ROUND_MS = 1000;

const { values } = parseArgs({
  options: { rtt: { type: "string", default: "100" }, rounds: { type: "string", default: "3" } },
});
const rttMs = Number(values.rtt);
const rounds = Number(values.rounds);
if (!(rttMs > 0) || !Number.isInteger(rounds) || rounds < 1) {
  process.stderr.write(
    "Usage: npm run bench:burst -- [--rtt MS (> 0, default 100)] [--rounds R (default 3)]\n",
  );
  process.exit(2);
}

/** One round: each connection's latencies (ms), its first request's first. */
async function burst(url: string, identifier: string): Promise<number[][]> {
  const started = performance.now();
  const ask = async () => {
    const sent = performance.now();
    const response = await fetch(url, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ identifier, tier: ROOMY_TIER.name }),
    });
    await response.arrayBuffer();
    if (response.status !== 200) throw new Error(`${url}: ${response.status}`);
    return performance.now() - sent;
  };
  return Promise.all(
    Array.from({ length: CONNECTIONS }, async () => {
      const latencies: number[] = [];
      while (performance.now() - started < ROUND_MS) latencies.push(await ask());
      return latencies;
    }),
  );
}

const rest = await startLocalRedisRest();
const proxy = await startDelayProxyThread(rest.url, rttMs);
try {
  await loadScript(rest);
  const signal = new AbortController().signal;
  const bundles = {
    "this Worker": await buildThisWorker(signal, [ROOMY_TIER]),
    "@upstash/ratelimit": await buildPeer("upstash-worker.ts"),
  };
  console.log(
    `A burst of ${CONNECTIONS} on an idle bucket, Redis ${rttMs} ms away: of the first ${CONNECTIONS} requests, ` +
      `how many took over ${1.5 * rttMs} ms; then each connection asks again for ${ROUND_MS} ms.`,
  );
  for (const [name, bundle] of Object.entries(bundles)) {
    const worker = await startWorker(
      name,
      bundle.script,
      varsFor(name as WorkerName, { url: proxy.url, token: rest.token }),
    );
    try {
      // Connections open and the script compiled, on a bucket of its own.
      await burst(worker.checkUrl, `idle-burst-warm-${Date.now()}`);
      for (let round = 1; round <= rounds; round++) {
        const latencies = await burst(worker.checkUrl, `idle-burst-${round}-${Date.now()}`);
        const first = latencies.map((each) => each[0] ?? 0);
        const all = latencies.flat().sort((a, b) => a - b);
        const at = (p: number) => (all[Math.floor(p * (all.length - 1))] ?? 0).toFixed(1);
        const slow = first.filter((ms) => ms > 1.5 * rttMs).length;
        console.log(
          `${name.padEnd(20)} round ${round}: ${String(slow).padStart(2)} of ${CONNECTIONS} first requests over ${1.5 * rttMs} ms` +
            ` (slowest ${Math.max(...first).toFixed(0)} ms); ${all.length} requests, p50 ${at(0.5)} ms, p99 ${at(0.99)} ms`,
        );
      }
    } finally {
      await worker.dispose();
    }
  }
} finally {
  await proxy.stop();
  await rest.stop();
}
