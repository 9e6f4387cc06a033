import * as z from "zod/mini";
import { hasDistinctWindows, LimitSchema, MAX_LIMITS } from "../config/schema.ts";
import { CheckRequestSchema } from "./schemas.ts";

/** An identifier in an admin path: the same rules as in `POST /check`. */
export const IdentifierSchema = CheckRequestSchema.shape.identifier;

/**
 * The body of `PUT /admin/overrides/{tier}/{identifier}`: the identifier's own limits on that
 * tier, in place of the tier's (one bucket or several), or an exemption from any limit.
 */
export const OverrideRequestSchema = z.union([
  z.strictObject({
    limits: z
      .array(LimitSchema)
      .check(
        z.minLength(1),
        z.maxLength(MAX_LIMITS),
        z.refine(hasDistinctWindows, "Each limit needs a window of its own"),
        z.meta({ description: "One bucket or several (a burst and a sustained rate)." }),
      ),
  }),
  z.strictObject({
    exempt: z
      .literal(true)
      .check(z.meta({ description: "No limit at all for this identifier on this tier." })),
  }),
]);

export type OverrideRequest = z.infer<typeof OverrideRequestSchema>;
