import type * as z from "zod/mini";
import type { CheckRequestSchema } from "../limiter/check-schema.ts";
import type {
  AllowedResponse,
  ErrorResponseSchema,
  HealthyResponseSchema,
  LimitedResponse,
  UnhealthyResponseSchema,
  ValidationErrorResponseSchema,
} from "./response-schemas.ts";

type Example<T> = Record<string, { summary: string; value: T }>;
type ErrorBody = z.infer<typeof ErrorResponseSchema>;

/**
 * The examples of the OpenAPI document, typed by the schemas they illustrate so they cannot drift from
 * them. The values are those of a `free` tier (100 tokens a minute) right after a first request.
 */
export const examples = {
  request: {
    default: {
      summary: "One token on the free tier",
      value: { identifier: "user-42", tier: "free", cost: 1 },
    },
    peek: { summary: "Peek: cost 0 takes nothing", value: { identifier: "user-42", cost: 0 } },
  } satisfies Example<z.input<typeof CheckRequestSchema>>,
  allowed: {
    allowed: {
      summary: "Allowed",
      value: { allowed: true, tokens_remaining: 99, reset_at: 1700000000.6, limit: 100, retry_after: null },
    },
    degraded: {
      summary: "Fail-open: Redis could not answer, FAIL_MODE is open",
      value: {
        allowed: true,
        tokens_remaining: null,
        reset_at: null,
        limit: 100,
        retry_after: null,
        degraded: true,
      },
    },
  } satisfies Example<AllowedResponse>,
  limited: {
    limited: {
      summary: "Limited",
      value: { detail: { allowed: false, retry_after: 1, reset_at: 1700000060.0, limit: 100 } },
    },
  } satisfies Example<LimitedResponse>,
  invalidTier: {
    invalidTier: { summary: "Unknown tier", value: { detail: "Invalid tier: gold" } },
  } satisfies Example<ErrorBody>,
  unauthorized: {
    unauthorized: { summary: "No valid key", value: { detail: "Unauthorized" } },
  } satisfies Example<ErrorBody>,
  tooLarge: {
    tooLarge: { summary: "Body over 4 KiB", value: { detail: "Request body too large" } },
  } satisfies Example<ErrorBody>,
  invalidBody: {
    missingIdentifier: {
      summary: "Missing identifier",
      value: { detail: [{ loc: ["body", "identifier"], msg: "Field required", type: "missing" }] },
    },
  } satisfies Example<z.infer<typeof ValidationErrorResponseSchema>>,
  unavailable: {
    unavailable: { summary: "Redis cannot answer", value: { detail: "Rate limiter unavailable" } },
  } satisfies Example<ErrorBody>,
  healthy: {
    healthy: { summary: "Redis answers", value: { status: "ok", redis: "connected" } },
  } satisfies Example<z.infer<typeof HealthyResponseSchema>>,
  unhealthy: {
    unhealthy: { summary: "Redis does not answer", value: { status: "degraded", redis: "disconnected" } },
  } satisfies Example<z.infer<typeof UnhealthyResponseSchema>>,
};

const header = (description: string, type: "string" | "integer", example: string | number) => ({
  description,
  schema: { type },
  example,
});

/** The response headers, as OpenAPI header objects with an example each. */
export const headerExamples = {
  "RateLimit-Policy": header(
    "The tier's quota `q` (tokens) per window `w` (seconds), per draft-ietf-httpapi-ratelimit-headers-10. " +
      "Absent on a degraded answer.",
    "string",
    '"free";q=100;w=60',
  ),
  RateLimit: header(
    "Tokens remaining `r` and seconds `t` until the bucket is full, per draft-ietf-httpapi-ratelimit-headers-10. " +
      "Absent on a degraded answer.",
    "string",
    '"free";r=99;t=1',
  ),
  "RateLimit-Limit": header("The tier's capacity, in tokens. Absent on a degraded answer.", "integer", 100),
  "RateLimit-Remaining": header("Whole tokens left. Absent on a degraded answer.", "integer", 99),
  "RateLimit-Reset": header("Seconds until the bucket is full. Absent on a degraded answer.", "integer", 1),
  "Retry-After": header(
    "Seconds to wait before asking again; on 429 the same as `retry_after`.",
    "integer",
    1,
  ),
  "WWW-Authenticate": header("The scheme to authenticate with.", "string", "Bearer"),
};
