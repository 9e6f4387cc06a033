import type { Limit, Tier } from "./schema.ts";
import { config } from "./tiers.generated.ts";

/** A configured tier with its name: its buckets (`limits`) and its `mode`. */
export interface NamedTier extends Tier {
  name: string;
}

export type { Limit };

const tiers: ReadonlyMap<string, NamedTier> = new Map(
  Object.entries(config.tiers as Record<string, Tier>).map(([name, tier]) => [name, { name, ...tier }]),
);

/** The tier a request names, or the default one when it names none; undefined for an unknown name. */
export function resolveTier(name: string | undefined): NamedTier | undefined {
  return tiers.get(name ?? config.default_tier);
}

/** The most a single request may cost on a tier: the smallest of its buckets. */
export const maxCost = (tier: Tier) => Math.min(...tier.limits.map((limit) => limit.limit));
