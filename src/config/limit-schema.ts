import * as z from "zod/mini";

/**
 * One bucket: `limit` tokens refilled continuously over `window` seconds. Shared by config.yaml's
 * tiers (checked at build time) and the admin API's overrides (checked by the Worker), so its
 * messages are written here rather than left to a zod locale the Worker does not load.
 */
export const LimitSchema = z.strictObject({
  limit: z
    .int({ error: "Input should be a valid integer" })
    .check(
      z.positive("Input should be greater than 0"),
      z.maximum(1_000_000_000, "Input should be less than or equal to 1000000000"),
    ),
  // At least a millisecond: the script works in whole milliseconds, and the TTL must stay positive.
  window: z
    .number({ error: "Input should be a valid number" })
    .check(
      z.minimum(0.001, "Input should be greater than or equal to 0.001"),
      z.maximum(31_536_000, "Input should be less than or equal to 31536000"),
    ),
});

export type Limit = z.infer<typeof LimitSchema>;

/** Most buckets one tier (or override) may hold: each is one more hash field and a few more bytes per call. */
export const MAX_LIMITS = 4;

/** Each limit of a tier needs a window of its own: buckets are told apart by their windows. */
export const hasDistinctWindows = (limits: ReadonlyArray<{ window: number }>) =>
  new Set(limits.map(({ window }) => Math.round(window * 1000))).size === limits.length;
