import * as z from "zod/mini";
import type { Decision } from "../limiter/decision.ts";
import "../zod-locale.ts";

/** The most characters an identifier may have, counted in code points as JSON Schema's maxLength counts. */
const MAX_IDENTIFIER_LENGTH = 256;

// biome-ignore lint/suspicious/noControlCharactersInRegex: U+0000-U+001F and U+007F are what SPEC forbids.
const NO_CONTROL_CHARACTERS = /^[^\u0000-\u001f\u007f]*$/;

/** The body of `POST /check`. The upper bound of `cost` is the tier's limit, checked once the tier is known. */
export const CheckRequestSchema = z.object({
  identifier: z.string({ error: "Input should be a valid string" }).check(
    z.minLength(1, "String should have at least 1 character"),
    z.refine((value) => [...value].length <= MAX_IDENTIFIER_LENGTH, {
      error: `String should have at most ${MAX_IDENTIFIER_LENGTH} characters`,
      params: { type: "string_too_long" },
    }),
    z.refine((value) => NO_CONTROL_CHARACTERS.test(value), {
      error: "String should not contain control characters",
      params: { type: "string_pattern_mismatch" },
    }),
    // Refinements do not show in JSON Schema, so the two rules above are also stated for the docs.
    z.meta({
      description: "Who is asking: an API key, a user id, an IP address.",
      example: "user-42",
      maxLength: MAX_IDENTIFIER_LENGTH,
      pattern: NO_CONTROL_CHARACTERS.source,
    }),
  ),
  tier: z
    .nullish(z.string({ error: "Input should be a valid string" }))
    .check(
      z.meta({ description: "A tier from config.yaml; the default tier when absent.", example: "free" }),
    ),
  cost: z
    ._default(
      z
        .int({ error: "Input should be a valid integer" })
        .check(z.minimum(0, "Input should be greater than or equal to 0")),
      1,
    )
    .check(
      z.meta({ description: "Tokens to take, up to the tier's limit; 0 peeks without taking.", example: 1 }),
    ),
});

const unixSeconds = "Unix time in seconds, millisecond precision, when the bucket is full again.";

/** `POST /check` allowed it: 200. Also the fail-open answer, marked `degraded`. */
export const AllowedResponseSchema = z
  .object({
    allowed: z.boolean().check(z.meta({ description: "Always true in a 200.", example: true })),
    tokens_remaining: z
      .nullable(z.int().check(z.minimum(0)))
      .check(
        z.meta({ description: "Whole tokens left after this request; null when degraded.", example: 99 }),
      ),
    reset_at: z
      .nullable(z.number())
      .check(z.meta({ description: `${unixSeconds} Null when degraded.`, example: 1700000000.6 })),
    limit: z
      .int()
      .check(z.positive(), z.meta({ description: "The tier's capacity, in tokens.", example: 100 })),
    retry_after: z
      .nullable(z.int().check(z.minimum(1)))
      .check(
        z.meta({ description: "Null when allowed; the same type as in `Decision`, which a 429 also uses." }),
      ),
    degraded: z
      .optional(z.literal(true))
      .check(
        z.meta({ description: "Present, and true, only when Redis could not answer and FAIL_MODE is open." }),
      ),
  })
  .check(z.meta({ title: "Allowed" }));

export type AllowedResponse = z.infer<typeof AllowedResponseSchema>;

/** `POST /check` denied it: 429, the decision under `detail`. */
export const LimitedResponseSchema = z
  .object({
    detail: z.object({
      allowed: z.literal(false),
      retry_after: z
        .int()
        .check(
          z.minimum(1),
          z.meta({ description: "Whole seconds until `cost` tokens are there; also `Retry-After`." }),
        ),
      reset_at: z.number().check(z.meta({ description: unixSeconds })),
      limit: z.int().check(z.positive(), z.meta({ description: "The tier's capacity, in tokens." })),
    }),
  })
  .check(z.meta({ title: "Limited" }));

export type LimitedResponse = z.infer<typeof LimitedResponseSchema>;

/** The original service's error shape: 400, 401, 413, 503. */
export const ErrorResponseSchema = z.object({ detail: z.string() }).check(z.meta({ title: "Error" }));

/** One entry of a 422 answer, in FastAPI's shape. */
export const ValidationIssueSchema = z.object({
  loc: z
    .array(z.union([z.string(), z.int()]))
    .check(
      z.meta({ description: "Where the problem is, from `body` down.", example: ["body", "identifier"] }),
    ),
  msg: z.string().check(z.meta({ example: "Field required" })),
  type: z.string().check(z.meta({ description: "pydantic's name for the problem.", example: "missing" })),
});

export type ValidationIssue = z.infer<typeof ValidationIssueSchema>;

/** 422: the body broke the request schema, in FastAPI's shape. */
export const ValidationErrorResponseSchema = z
  .object({ detail: z.array(ValidationIssueSchema) })
  .check(z.meta({ title: "ValidationError" }));

/** `GET /health` when Redis answered PING in time: 200. */
export const HealthyResponseSchema = z
  .object({ status: z.literal("ok"), redis: z.literal("connected") })
  .check(z.meta({ title: "Healthy" }));

/** `GET /health` when it did not: 503. */
export const UnhealthyResponseSchema = z
  .object({ status: z.literal("degraded"), redis: z.literal("disconnected") })
  .check(z.meta({ title: "Unhealthy" }));

// Compile-time ties between the documented shapes and the code's own types: drift fails the type check.
type Same<A, B> = [A] extends [B] ? ([B] extends [A] ? true : false) : false;
type LimitedDetail = LimitedResponse["detail"];
true satisfies Same<Decision, AllowedResponse>;
true satisfies LimitedDetail extends Pick<Decision, keyof LimitedDetail> ? true : false;
