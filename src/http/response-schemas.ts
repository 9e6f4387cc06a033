import * as z from "zod/mini";
import type { ValidationIssue as DomainValidationIssue } from "../limiter/check-input.ts";
import type { limitedBody } from "./answers.ts";

/*
 * The shapes of the Worker's answers, for the OpenAPI document (built at build time by
 * scripts/compile-openapi.ts) and for the tests that hold the answers to them. The Worker itself does
 * not import this module, so these schemas and their descriptions stay out of its script.
 */

const unixSeconds = "Unix time in seconds, millisecond precision, when the bucket is full again.";

/** `POST /check` allowed it: 200. Also the fail-open answer, marked `degraded`. */
export const AllowedResponseSchema = z
  .object({
    allowed: z.boolean().check(z.meta({ description: "Always true in a 200.", example: true })),
    tokens_remaining: z.nullable(z.int().check(z.minimum(0))).check(
      z.meta({
        description:
          "Whole tokens left after this request (for an admission from a lease: the bucket's tokens " +
          "with the lease's unspent tokens back in them); null when degraded or exempt.",
        example: 99,
      }),
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
    exempt: z
      .optional(z.literal(true))
      .check(
        z.meta({ description: "Present, and true, when an operator's override exempts this identifier." }),
      ),
    shadow: z.optional(z.literal(true)).check(
      z.meta({
        description: "Present, and true, on a tier in shadow mode: let through whatever `would_allow` says.",
      }),
    ),
    would_allow: z
      .optional(z.boolean())
      .check(z.meta({ description: "Shadow mode: what an enforcing tier would have answered." })),
    would_retry_after: z
      .optional(z.nullable(z.int().check(z.minimum(1))))
      .check(z.meta({ description: "Shadow mode: the `retry_after` an enforcing tier would have given." })),
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
const ValidationIssueSchema = z.object({
  loc: z
    .array(z.union([z.string(), z.int()]))
    .check(
      z.meta({ description: "Where the problem is, from `body` down.", example: ["body", "identifier"] }),
    ),
  msg: z.string().check(z.meta({ example: "Field required" })),
  type: z.string().check(z.meta({ description: "pydantic's name for the problem.", example: "missing" })),
});

type ValidationIssue = z.infer<typeof ValidationIssueSchema>;

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
  .object({
    status: z.literal("degraded"),
    redis: z.literal("disconnected"),
    circuit: z.optional(z.enum(["open", "half-open"])).check(
      z.meta({
        description:
          "Present when this isolate's circuit breaker is not closed: `open` answers at once without asking Redis.",
      }),
    ),
  })
  .check(z.meta({ title: "Unhealthy" }));

// Compile-time ties between the documented shapes and the code's own types: drift fails the type check.
// (`AllowedResponse` is itself the type of the body answers.ts builds.)
type Same<A, B> = [A] extends [B] ? ([B] extends [A] ? true : false) : false;
true satisfies Same<ValidationIssue, DomainValidationIssue>;
type LimitedDetail = LimitedResponse["detail"];
type LimitedBodyDetail = ReturnType<typeof limitedBody>["detail"];
true satisfies Same<keyof LimitedDetail, keyof LimitedBodyDetail>;
true satisfies LimitedDetail extends LimitedBodyDetail ? true : false;
