import * as z from "zod";

/** One tier: a bucket of `limit` tokens refilled continuously over `window` seconds. */
export const TierSchema = z.strictObject({
  limit: z.int().positive().max(1_000_000_000),
  // At least a millisecond: the script works in whole milliseconds, and the TTL must stay positive.
  window: z.number().min(0.001).max(31_536_000),
});

/**
 * The shape of `config.yaml`. Tier names end up in Redis keys and in `RateLimit` header
 * strings, so they are kept to a safe alphabet.
 */
export const ConfigSchema = z
  .strictObject({
    tiers: z
      .record(
        z.string().regex(/^[A-Za-z0-9_.-]{1,64}$/, "tier names use A-Z, a-z, 0-9, '_', '.', '-'"),
        TierSchema,
      )
      .refine((tiers) => Object.keys(tiers).length > 0, "at least one tier is required"),
    default_tier: z.string(),
  })
  .refine((config) => Object.hasOwn(config.tiers, config.default_tier), {
    path: ["default_tier"],
    error: "must name one of the tiers under 'tiers'",
  });

export type Tier = z.infer<typeof TierSchema>;
export type RateLimitConfig = z.infer<typeof ConfigSchema>;
