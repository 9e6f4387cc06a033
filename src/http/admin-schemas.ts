import * as z from "zod";
import { LimitSchema } from "../config/schema.ts";
import { CheckRequestSchema } from "./schemas.ts";

/** An identifier in an admin path: the same rules as in `POST /check`. */
export const IdentifierSchema = CheckRequestSchema.shape.identifier;

/** Most limits one override may hold, as for a tier. */
const MAX_LIMITS = 4;

/**
 * The body of `PUT /admin/overrides/{tier}/{identifier}`: the identifier's own limits on that
 * tier, in place of the tier's (one or several buckets), or an exemption from any limit.
 */
export const OverrideRequestSchema = z.union([
  z.strictObject({
    limits: z
      .array(LimitSchema)
      .min(1)
      .max(MAX_LIMITS)
      .refine((limits) => new Set(limits.map((l) => Math.round(l.window * 1000))).size === limits.length, {
        error: "Each limit needs a window of its own",
      })
      .meta({ description: "One bucket or several (a burst and a sustained rate)." }),
  }),
  z.strictObject({
    exempt: z.literal(true).meta({ description: "No limit at all for this identifier on this tier." }),
  }),
]);

export type OverrideRequest = z.infer<typeof OverrideRequestSchema>;
