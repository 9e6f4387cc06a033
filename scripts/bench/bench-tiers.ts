/**
 * The tiers the bench's Workers enforce: config.yaml's, and one of the bench's own for the workloads that
 * must never run out. Users never see that one: config.yaml does not have it; the bench builds this
 * Worker from a copy of src/ whose compiled config has it too (builds.ts), and gives it to the peers
 * from here. This module is bundled into the peers, so it imports nothing from Node.
 */
import { config } from "../../src/config/tiers.generated.ts";

/** One tier with one bucket: `limit` tokens, refilled continuously over `window` seconds. */
export interface BenchTier {
  name: string;
  limit: number;
  /** seconds */
  window: number;
}

/**
 * config.yaml's tiers that all three Workers can enforce alike: one bucket, not in shadow mode. The
 * slowest refill first.
 */
export const CONFIG_TIERS: BenchTier[] = Object.entries(config.tiers)
  .flatMap(([name, tier]) => {
    const [only, ...more] = tier.limits;
    return only === undefined || more.length > 0 || tier.mode !== "enforce" ? [] : [{ name, ...only }];
  })
  .sort((a, b) => a.limit / a.window - b.limit / b.window);

/**
 * The bench's own tier, for "hot-allowed" and "zipf": a million tokens, refilled at one a millisecond, a
 * rate @upstash/ratelimit matches exactly (`tokenBucket(1, "1 ms", 1000000)`). No Worker here comes
 * near a million decisions on one identifier in a run (a few thousand a second, for seconds), so every
 * decision is allowed, and each is a real one: the bucket is read, refilled, taken from and written.
 */
export const ROOMY_TIER: BenchTier = { name: "bench-roomy", limit: 1_000_000, window: 1000 };

/** Every tier the bench's Workers enforce. */
export const BENCH_TIERS: readonly BenchTier[] = [...CONFIG_TIERS, ROOMY_TIER];
