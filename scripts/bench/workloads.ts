/**
 * The two workloads every Worker gets, with the same requests: the body is what `POST /check` takes, and the
 * two peer Workers read the same fields. Tiers are picked from config.yaml so that the shares really hold:
 * the roomiest tier for "spread" (mostly allowed), the tightest for "hot" (mostly denied).
 */
import { config } from "../../src/config/tiers.generated.ts";

/** One tier of config.yaml, with its name. */
export interface BenchTier {
  name: string;
  limit: number;
  /** seconds */
  window: number;
}

/** What the load generator needs to make the request bodies of one workload. */
export interface Workload {
  name: "spread" | "hot";
  /** How many distinct identifiers the requests cycle through. */
  identifiers: number;
  tier: BenchTier;
}

/** The tiers all three Workers can enforce alike: one bucket, not in shadow mode. */
export const BENCH_TIERS: BenchTier[] = Object.entries(config.tiers)
  .flatMap(([name, tier]) => {
    const [only, ...more] = tier.limits;
    return only === undefined || more.length > 0 || tier.mode !== "enforce" ? [] : [{ name, ...only }];
  })
  .sort((a, b) => a.limit / a.window - b.limit / b.window);

const tiers = BENCH_TIERS;

/** How many identifiers "spread" cycles through. */
export const SPREAD_IDENTIFIERS = 1000;

/** spread: many identifiers on the roomiest tier; hot: one identifier on the tightest tier. */
export const WORKLOADS: readonly Workload[] = [
  { name: "spread", identifiers: SPREAD_IDENTIFIERS, tier: tiers.at(-1) as BenchTier },
  { name: "hot", identifiers: 1, tier: tiers[0] as BenchTier },
];

/** The JSON body of request number `n` of a workload. */
export function requestBody(workload: Workload, n: number): string {
  const identifier = `${workload.name}-${n % workload.identifiers}`;
  return JSON.stringify({ identifier, tier: workload.tier.name });
}

/** e.g. `spread (1000 identifiers, tier "pro": 1000 per 60 s)` */
export function describeWorkload(workload: Workload): string {
  const who = workload.identifiers === 1 ? "1 identifier" : `${workload.identifiers} identifiers`;
  const { name, limit, window } = workload.tier;
  return `${workload.name} (${who}, tier "${name}": ${limit} per ${window} s)`;
}
