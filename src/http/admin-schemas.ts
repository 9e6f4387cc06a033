import * as z from "zod/mini";
import { hasDistinctWindows, LimitSchema, MAX_LIMITS } from "../config/limit-schema.ts";
import { CheckRequestSchema } from "../limiter/check-schema.ts";

/** An identifier in an admin path: the same rules as in `POST /check`. */
export const IdentifierSchema = CheckRequestSchema.shape.identifier;

/** An override's own limits: one bucket or several (a burst and a sustained rate). */
export const OverrideLimitsSchema = z.strictObject({
  limits: z
    .array(LimitSchema)
    .check(
      z.minLength(1, "List should have at least 1 item"),
      z.maxLength(MAX_LIMITS, `List should have at most ${MAX_LIMITS} items`),
      z.refine(hasDistinctWindows, "Each limit needs a window of its own"),
    ),
});

/** An exemption from any limit. */
export const OverrideExemptSchema = z.strictObject({ exempt: z.literal(true) });

/**
 * The schema a body of `PUT /admin/overrides/{tier}/{identifier}` is held to: an exemption when it
 * says `exempt`, otherwise the identifier's own limits on that tier, in place of the tier's. (Chosen
 * by the body's key rather than with a union, whose code the Worker would carry for this alone.)
 */
export const overrideSchemaFor = (body: unknown) =>
  typeof body === "object" && body !== null && "exempt" in body ? OverrideExemptSchema : OverrideLimitsSchema;
