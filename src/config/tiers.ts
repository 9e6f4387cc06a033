import type { Tier } from "./schema.ts";
import { config } from "./tiers.generated.ts";

/** A configured tier with its name. */
export interface NamedTier extends Tier {
  name: string;
}

/** The tier a request names, or the default one when it names none; undefined for an unknown name. */
export function resolveTier(name: string | undefined): NamedTier | undefined {
  const tierName = name ?? config.default_tier;
  const tiers: Record<string, Tier> = config.tiers;
  return Object.hasOwn(tiers, tierName) ? ({ name: tierName, ...tiers[tierName] } as NamedTier) : undefined;
}
