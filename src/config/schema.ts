import * as z from "zod/mini";
import { type Limit, LimitSchema, MAX_LIMITS } from "./limit-schema.ts";
import { TIER_NAME } from "./tier-name.ts";

export { type Limit, LimitSchema };

const TierFieldsSchema = z
  .strictObject({
    limit: z.optional(LimitSchema.shape.limit),
    window: z.optional(LimitSchema.shape.window),
    limits: z.optional(z.array(LimitSchema).check(z.minLength(1), z.maxLength(MAX_LIMITS))),
    mode: z._default(z.enum(["enforce", "shadow"], { error: "must be 'enforce' or 'shadow'" }), "enforce"),
    lease: z._default(z.boolean({ error: "must be true or false" }), true),
  })
  .check(
    z.superRefine((tier, ctx) => {
      const problem = (path: Array<string | number>, message: string) =>
        ctx.addIssue({ code: "custom", input: tier, path, message });
      if (tier.limits === undefined) {
        if (tier.limit === undefined) problem(["limit"], "is required (or give several under 'limits')");
        if (tier.window === undefined) problem(["window"], "is required (or give several under 'limits')");
        return;
      }
      if (tier.limit !== undefined || tier.window !== undefined) {
        problem(["limits"], "give either 'limit' and 'window', or 'limits', not both");
      }
      const seen = new Set<number>();
      tier.limits.forEach(({ window }, i) => {
        const ms = Math.round(window * 1000);
        if (seen.has(ms))
          problem(["limits", i, "window"], `${window} s is already the window of another limit`);
        seen.add(ms);
      });
    }),
  );

/**
 * One tier as written in config.yaml: one bucket (`limit`, `window`) or several (`limits`, e.g. a
 * burst and a sustained rate; a request must fit all and takes from all), a `mode`: `enforce`, or
 * `shadow` (decide and report, but let every request through), and `lease` (false: every request is
 * decided in Redis, none from a lease). Compiled to the one shape the Worker uses, `{ limits, mode, lease }`.
 */
const TierSchema = z.pipe(
  TierFieldsSchema,
  z.transform(({ limit, window, limits, mode, lease }: z.output<typeof TierFieldsSchema>) => ({
    limits: limits ?? [{ limit: limit as number, window: window as number }],
    mode,
    lease,
  })),
);

/**
 * The shape of `config.yaml`. Tier names end up in Redis keys and in `RateLimit` header
 * strings, so they are kept to a safe alphabet.
 */
export const ConfigSchema = z
  .strictObject({
    tiers: z
      .record(z.string().check(z.regex(TIER_NAME, "tier names use A-Z, a-z, 0-9, '_', '.', '-'")), TierSchema)
      .check(z.refine((tiers) => Object.keys(tiers).length > 0, "at least one tier is required")),
    default_tier: z.string(),
  })
  .check(
    z.refine((config) => Object.hasOwn(config.tiers, config.default_tier), {
      path: ["default_tier"],
      error: "must name one of the tiers under 'tiers'",
    }),
  );

export type Tier = z.output<typeof TierSchema>;
export type RateLimitConfig = z.output<typeof ConfigSchema>;
