/**
 * The workloads every Worker gets, with the same requests: the body is what `POST /check` takes, and the
 * peer Workers read the same fields. "spread" and "hot" run on config.yaml's tiers, picked so that the
 * shares really hold (the roomiest for mostly allowed, the tightest for mostly denied); "hot-allowed"
 * and "zipf" on the bench's own tier, which never runs out (bench-tiers.ts).
 */
import { type BenchTier, CONFIG_TIERS, ROOMY_TIER } from "./bench-tiers.ts";
import { uniformAt, zipfSampler } from "./zipf.ts";

export const WORKLOAD_NAMES = ["spread", "hot", "hot-allowed", "zipf"] as const;
export type WorkloadName = (typeof WORKLOAD_NAMES)[number];

/** What the load generator needs to make the request bodies of one workload (plain data: it is posted). */
export interface Workload {
  name: WorkloadName;
  /** How many distinct identifiers the requests draw from. */
  identifiers: number;
  /** How request n picks one: in turn, or Zipf-distributed with this exponent (rank 1 the most often). */
  pick: "in-turn" | { zipf: number };
  tier: BenchTier;
}

/** How many identifiers "spread" cycles through. */
export const SPREAD_IDENTIFIERS = 1000;
/** How many identifiers "zipf" draws from, and the exponent of its distribution. */
export const ZIPF_IDENTIFIERS = 10_000;
export const ZIPF_EXPONENT = 1.1;

const roomiest = CONFIG_TIERS.at(-1) as BenchTier;
const tightest = CONFIG_TIERS[0] as BenchTier;

/**
 * spread: many identifiers in turn on config.yaml's roomiest tier (mostly allowed); hot: one identifier on
 * its tightest (mostly denied); hot-allowed: one identifier that never runs out; zipf: 10,000 identifiers,
 * a few of which send most requests, none running out.
 */
export const WORKLOADS: Readonly<Record<WorkloadName, Workload>> = {
  spread: { name: "spread", identifiers: SPREAD_IDENTIFIERS, pick: "in-turn", tier: roomiest },
  hot: { name: "hot", identifiers: 1, pick: "in-turn", tier: tightest },
  "hot-allowed": { name: "hot-allowed", identifiers: 1, pick: "in-turn", tier: ROOMY_TIER },
  zipf: { name: "zipf", identifiers: ZIPF_IDENTIFIERS, pick: { zipf: ZIPF_EXPONENT }, tier: ROOMY_TIER },
};

/** What `npm run bench` runs when no --workloads is given. */
export const DEFAULT_WORKLOADS: readonly WorkloadName[] = WORKLOAD_NAMES;

const samplers = new Map<string, (uniform: number) => number>();

/** The identifier of request number `n` of a workload: `<workload>-<index>`, index from 0. */
export function identifierAt(workload: Workload, n: number): string {
  if (workload.pick === "in-turn") return `${workload.name}-${n % workload.identifiers}`;
  const key = `${workload.identifiers}:${workload.pick.zipf}`;
  let sample = samplers.get(key);
  if (sample === undefined) {
    sample = zipfSampler(workload.identifiers, workload.pick.zipf);
    samplers.set(key, sample);
  }
  return `${workload.name}-${sample(uniformAt(n)) - 1}`;
}

/** The JSON body of request number `n` of a workload. */
export function requestBody(workload: Workload, n: number): string {
  return JSON.stringify({ identifier: identifierAt(workload, n), tier: workload.tier.name });
}

/** e.g. `zipf (10000 identifiers drawn Zipf(1.1), tier "bench-roomy": 1000000 per 1000 s)` */
export function describeWorkload(workload: Workload): string {
  const who = workload.identifiers === 1 ? "1 identifier" : `${workload.identifiers} identifiers`;
  const how = workload.pick === "in-turn" ? "" : ` drawn Zipf(${workload.pick.zipf})`;
  const { name, limit, window } = workload.tier;
  return `${workload.name} (${who}${how}, tier "${name}": ${limit} per ${window} s)`;
}

/**
 * The workloads a comma-separated list names, in the list's order, e.g. `hot-allowed,zipf`; throws
 * naming the ones it does not know.
 */
export function parseWorkloads(list: string): WorkloadName[] {
  const names = list
    .split(",")
    .map((name) => name.trim())
    .filter((name) => name !== "");
  const unknown = names.filter((name) => !(WORKLOAD_NAMES as readonly string[]).includes(name));
  if (unknown.length > 0 || names.length === 0)
    throw new Error(`--workloads takes names from ${WORKLOAD_NAMES.join(", ")}; got "${list}"`);
  return [...new Set(names)] as WorkloadName[];
}
