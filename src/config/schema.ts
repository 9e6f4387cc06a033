import * as z from "zod";

/** One bucket: `limit` tokens refilled continuously over `window` seconds. */
export const LimitSchema = z.strictObject({
  limit: z.int().positive().max(1_000_000_000),
  // At least a millisecond: the script works in whole milliseconds, and the TTL must stay positive.
  window: z.number().min(0.001).max(31_536_000),
});

/** Most buckets one tier may hold: each is one more hash field and a few more bytes per call. */
const MAX_LIMITS = 4;

/**
 * One tier as written in config.yaml: one bucket (`limit`, `window`) or several (`limits`, e.g. a
 * burst and a sustained rate; a request must fit all and takes from all), and a `mode`:
 * `enforce`, or `shadow` (decide and report, but let every request through). Compiled to the
 * one shape the Worker uses, `{ limits, mode }`.
 */
export const TierSchema = z
  .strictObject({
    limit: LimitSchema.shape.limit.optional(),
    window: LimitSchema.shape.window.optional(),
    limits: z.array(LimitSchema).min(1).max(MAX_LIMITS).optional(),
    mode: z.enum(["enforce", "shadow"], { error: "must be 'enforce' or 'shadow'" }).default("enforce"),
  })
  .superRefine((tier, ctx) => {
    if (tier.limits === undefined) {
      for (const field of ["limit", "window"] as const) {
        if (tier[field] === undefined) {
          ctx.addIssue({
            code: "custom",
            path: [field],
            message: "is required (or give several under 'limits')",
          });
        }
      }
      return;
    }
    if (tier.limit !== undefined || tier.window !== undefined) {
      ctx.addIssue({
        code: "custom",
        path: ["limits"],
        message: "give either 'limit' and 'window', or 'limits', not both",
      });
    }
    const windows = new Set<number>();
    tier.limits.forEach(({ window }, i) => {
      const ms = Math.round(window * 1000);
      if (windows.has(ms)) {
        ctx.addIssue({
          code: "custom",
          path: ["limits", i, "window"],
          message: `${window} s is already the window of another limit`,
        });
      }
      windows.add(ms);
    });
  })
  .transform(({ limit, window, limits, mode }) => ({
    limits: limits ?? [{ limit: limit as number, window: window as number }],
    mode,
  }));

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

export type Limit = z.infer<typeof LimitSchema>;
export type Tier = z.output<typeof TierSchema>;
export type RateLimitConfig = z.output<typeof ConfigSchema>;
