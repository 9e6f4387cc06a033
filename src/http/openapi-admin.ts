import * as z from "zod/mini";
import { LimitSchema } from "../config/schema.ts";
import { OverrideExemptSchema, OverrideLimitsSchema } from "./admin-schemas.ts";

/*
 * The admin API's part of the OpenAPI document (build time only, like openapi-document.ts). The
 * admin API exists only when ADMIN_API_KEYS is set; its answers are described here.
 */

// What the docs say of an override's two forms (kept out of the Worker's own schemas).
z.globalRegistry.add(OverrideLimitsSchema.shape.limits, {
  description: "One bucket or several (a burst and a sustained rate).",
});
z.globalRegistry.add(OverrideExemptSchema.shape.exempt, {
  description: "No limit at all for this identifier on this tier.",
});
const OverrideRequestSchema = z.union([OverrideLimitsSchema, OverrideExemptSchema]);

const OverrideEntrySchema = z
  .object({ tier: z.string(), identifier: z.string(), override: OverrideRequestSchema })
  .check(z.meta({ title: "Override" }));

const BucketStateSchema = z
  .object({
    tier: z.string(),
    identifier: z.string(),
    override: z.nullable(OverrideRequestSchema),
    buckets: z.array(
      z.object({
        limit: LimitSchema.shape.limit,
        window: LimitSchema.shape.window,
        tokens: z.number().check(z.meta({ description: "Tokens now, refilled, fractions kept." })),
        tokens_remaining: z.int(),
        reset_at: z.number().check(z.meta({ description: "Unix time in seconds when this bucket is full." })),
      }),
    ),
    updated_at: z
      .nullable(z.number())
      .check(
        z.meta({ description: "Unix time in seconds of the last refill; null for a bucket never used." }),
      ),
  })
  .check(z.meta({ title: "BucketState" }));

/** The admin API's schemas, for `components.schemas`. */
export const adminSchemas = {
  OverrideRequest: OverrideRequestSchema,
  Override: OverrideEntrySchema,
  OverrideList: z
    .object({ overrides: z.array(OverrideEntrySchema) })
    .check(z.meta({ title: "OverrideList" })),
  BucketState: BucketStateSchema,
};

const target = [
  { name: "tier", in: "path", required: true, schema: { type: "string" }, example: "free" },
  {
    name: "identifier",
    in: "path",
    required: true,
    description: "URL-encoded; the same rules as in `POST /check`.",
    schema: { type: "string" },
    example: "user-42",
  },
];

const json = (name: string) => ({ "application/json": { schema: { $ref: `#/components/schemas/${name}` } } });
const error = (description: string, name = "Error") => ({ description, content: json(name) });
const common = {
  401: error("No `Authorization: Bearer <key>` with one of ADMIN_API_KEYS."),
  404: error("ADMIN_API_KEYS is not set (the admin API does not exist), or nothing to find."),
  503: {
    ...error("Redis cannot answer (whatever FAIL_MODE says: it is for `/check`)."),
    headers: { "Retry-After": { $ref: "#/components/headers/Retry-After" } },
  },
};
const onTarget = {
  ...common,
  400: error("Unknown tier."),
  422: error("The identifier or the body breaks its schema.", "ValidationError"),
};
// Reading and deleting an override take any tier name config.yaml could hold: an override outlives
// its tier's removal from config.yaml.
const onNamedTarget = {
  ...onTarget,
  400: error("A tier name config.yaml could not hold (its alphabet is A-Z, a-z, 0-9, '_', '.', '-')."),
};
/** The admin API's heading in the docs. */
export const adminTag = {
  name: "Admin",
  description: "Per-identifier overrides and bucket state. Exists only when ADMIN_API_KEYS is set.",
};

const operation = (operationId: string, summary: string, responses: object, extra: object = {}) => ({
  operationId,
  summary,
  tags: [adminTag.name],
  security: [{ adminAuth: [] }],
  responses,
  ...extra,
});

/** The admin API's paths, for `paths`. */
export const adminPaths = {
  "/admin/overrides": {
    get: operation("listOverrides", "Every override", {
      200: {
        description: "The overrides, in no order; those on tiers config.yaml no longer has too.",
        content: json("OverrideList"),
      },
      ...common,
    }),
  },
  "/admin/overrides/{tier}/{identifier}": {
    parameters: target,
    put: operation(
      "setOverride",
      "Give one identifier its own limits on a tier, or exempt it",
      {
        200: { description: "Set; the next decision that reaches Redis uses it.", content: json("Override") },
        ...onTarget,
      },
      {
        description:
          "Replaces the tier's limits for this identifier, in every isolate at the next decision that reaches " +
          "Redis (cached denials trust an older answer for at most 1 s). Its buckets start full under the new limits.",
        requestBody: { required: true, content: json("OverrideRequest") },
      },
    ),
    get: operation(
      "getOverride",
      "One override",
      { 200: { description: "The override.", content: json("Override") }, ...onNamedTarget },
      { description: "Also on a tier config.yaml no longer has, by its name." },
    ),
    delete: operation(
      "deleteOverride",
      "Back to the tier's limits",
      {
        204: { description: "Deleted; the identifier's buckets start afresh under the tier's limits." },
        ...onNamedTarget,
      },
      { description: "Also on a tier config.yaml no longer has, by its name: its bucket goes with it." },
    ),
  },
  "/admin/buckets/{tier}/{identifier}": {
    parameters: target,
    get: operation("readBucket", "A bucket's state now", {
      200: { description: "Tokens per bucket, refilled to now.", content: json("BucketState") },
      ...onTarget,
    }),
    delete: operation("resetBucket", "Fill a bucket again", {
      204: { description: "Reset: full again, any override kept." },
      ...onTarget,
    }),
  },
};
