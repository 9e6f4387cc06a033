import type { NamedTier } from "../src/config/tiers.ts";

/**
 * A tier as config.yaml compiles one, enforcing and leasing, for tests that need tiers of their own:
 * `tierOf("burst", [10, 10], [2, 1])` holds 10 tokens per 10 s and 2 per second.
 */
export const tierOf = (name: string, ...limits: Array<[limit: number, window: number]>): NamedTier => ({
  name,
  limits: limits.map(([limit, window]) => ({ limit, window })),
  mode: "enforce",
  lease: true,
});
