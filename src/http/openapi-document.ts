import * as z from "zod/mini";
import { CheckRequestSchema, MAX_IDENTIFIER_LENGTH, NO_CONTROL_CHARACTERS } from "../limiter/check-schema.ts";
import { adminPaths, adminSchemas, adminTag } from "./openapi-admin.ts";
import { examples, headerExamples } from "./openapi-examples.ts";
import {
  AllowedResponseSchema,
  ErrorResponseSchema,
  HealthyResponseSchema,
  LimitedResponseSchema,
  UnhealthyResponseSchema,
  ValidationErrorResponseSchema,
} from "./response-schemas.ts";

// What the docs say of the request's fields. Refinements do not show in JSON Schema, so the
// identifier's length and characters, and that the cost is whole, are restated here.
const { identifier, tier, cost } = CheckRequestSchema.shape;
z.globalRegistry.add(identifier, {
  description: "Who is asking: an API key, a user id, an IP address.",
  example: "user-42",
  maxLength: MAX_IDENTIFIER_LENGTH,
  pattern: NO_CONTROL_CHARACTERS.source,
});
z.globalRegistry.add(tier, {
  description: "A tier from config.yaml; the default tier when absent.",
  example: "free",
});
z.globalRegistry.add(cost, {
  description: "Tokens to take, up to the tier's limit; 0 peeks without taking.",
  example: 1,
  // A number checked to be whole (check-schema.ts says why not zod's int).
  type: "integer",
});

/** The JSON Schema of a zod schema, as OpenAPI 3.1 (JSON Schema 2020-12) embeds it. */
function jsonSchema(schema: z.ZodMiniType): Record<string, unknown> {
  const { $schema: _dialect, ...embedded } = z.toJSONSchema(schema, {
    target: "draft-2020-12",
    io: "input",
    // zod bounds every integer by Number.MAX_SAFE_INTEGER; said on every field, that is only noise.
    override({ jsonSchema }) {
      if (jsonSchema.maximum === Number.MAX_SAFE_INTEGER) delete jsonSchema.maximum;
      if (jsonSchema.minimum === Number.MIN_SAFE_INTEGER) delete jsonSchema.minimum;
    },
  });
  return embedded;
}

// Swagger UI's headings, in this order; an operation without a tag would sit under "default".
const tags = {
  check: {
    name: "Rate limiting",
    description: "Whether a request may go ahead, and the headers that say why.",
  },
  health: { name: "Health", description: "Whether this Worker reaches Redis." },
};

const ref = (kind: "schemas" | "headers", name: string) => ({ $ref: `#/components/${kind}/${name}` });

/** A JSON answer: its schema by name and its examples, each `{ summary, value }`. */
function jsonContent(schema: string, named: Record<string, { summary: string; value: unknown }>) {
  return { "application/json": { schema: ref("schemas", schema), examples: named } };
}

const RATE_LIMIT_HEADERS = [
  "RateLimit-Policy",
  "RateLimit",
  "RateLimit-Limit",
  "RateLimit-Remaining",
  "RateLimit-Reset",
];
const headerRefs = (names: string[]) => Object.fromEntries(names.map((name) => [name, ref("headers", name)]));

/**
 * The OpenAPI 3.1 document, built from the zod schemas. Build time only: scripts/compile-openapi.ts
 * writes it to static/openapi.json, a static asset, so the Worker ships neither the text nor zod's
 * JSON Schema generator.
 */
export function buildOpenApiDocument() {
  return {
    openapi: "3.1.0",
    info: {
      title: "Rate limiter",
      version: "1.0.0",
      description:
        "A token-bucket rate limiter on Cloudflare Workers, its buckets in Redis. Ask `POST /check` " +
        "before doing the work a caller asked for; `GET /health` says whether Redis answers.",
    },
    // Relative: "Try it out" calls the Worker that served these docs, wherever it runs.
    servers: [{ url: "/", description: "This Worker" }],
    tags: [tags.check, tags.health, adminTag],
    paths: {
      "/check": {
        post: {
          operationId: "check",
          tags: [tags.check.name],
          summary: "May this request go ahead?",
          description:
            "Takes `cost` tokens from the bucket of `identifier` on `tier` when it has them; otherwise " +
            "denies and takes nothing. Answers that reached a decision carry rate-limit headers.\n\n" +
            "On a bucket the Worker is busy on, it may answer without asking Redis: an admission from a " +
            "lease (tokens it took out of the bucket for itself, granted until spent or `LEASE_MS` after it " +
            "took them; other Workers cannot grant them, so the global limit holds), or a denial Redis would " +
            "certainly give. A leased answer's `tokens_remaining`, `reset_at` and headers are the bucket's " +
            "tokens with the lease's unspent tokens back in them: what Redis would say while one Worker " +
            "uses the bucket, and lower while other Workers hold leases on it. `LEASE_MS=0`, or " +
            "`lease: false` on a tier, decides every request in Redis.",
          // Optional: a bearer key is needed only when the API_KEYS secret is set.
          security: [{}, { bearerAuth: [] }],
          requestBody: {
            required: true,
            content: {
              "application/json": { schema: jsonSchema(CheckRequestSchema), examples: examples.request },
            },
          },
          responses: {
            200: {
              description:
                "Allowed. When Redis cannot answer and FAIL_MODE is open: allowed, marked degraded.",
              headers: headerRefs(RATE_LIMIT_HEADERS),
              content: jsonContent("Allowed", examples.allowed),
            },
            400: {
              description: "Unknown tier, or a body that broke off before its end (the client went away).",
              content: jsonContent("Error", examples.invalidTier),
            },
            401: {
              description: "API_KEYS is set and the request has no valid `Authorization: Bearer <key>`.",
              headers: headerRefs(["WWW-Authenticate"]),
              content: jsonContent("Error", examples.unauthorized),
            },
            413: { description: "Body over 4 KiB.", content: jsonContent("Error", examples.tooLarge) },
            422: {
              description:
                "The body breaks the request schema: malformed JSON, bytes that are not UTF-8, wrong " +
                "types, missing identifier, an identifier with control characters or lone surrogates, " +
                "cost out of range, or a content type other than JSON.",
              content: jsonContent("ValidationError", examples.invalidBody),
            },
            429: {
              description: "Denied: fewer than `cost` tokens are left. Nothing was taken.",
              headers: headerRefs([...RATE_LIMIT_HEADERS, "Retry-After"]),
              content: jsonContent("Limited", examples.limited),
            },
            503: {
              description: "Redis cannot answer and FAIL_MODE is closed.",
              headers: headerRefs(["Retry-After"]),
              content: jsonContent("Error", examples.unavailable),
            },
          },
        },
      },
      "/health": {
        get: {
          operationId: "health",
          tags: [tags.health.name],
          summary: "Does Redis answer?",
          description:
            "A Redis `PING` through the REST endpoint, within the deadline. Never a hang. While this " +
            "isolate's circuit breaker is open, answers 503 at once without asking Redis.",
          responses: {
            200: { description: "Redis answered.", content: jsonContent("Healthy", examples.healthy) },
            503: {
              description: "Redis did not answer, or the circuit breaker is open.",
              content: jsonContent("Unhealthy", examples.unhealthy),
            },
          },
        },
      },
      ...adminPaths,
    },
    components: {
      schemas: {
        Allowed: jsonSchema(AllowedResponseSchema),
        Limited: jsonSchema(LimitedResponseSchema),
        Error: jsonSchema(ErrorResponseSchema),
        ValidationError: jsonSchema(ValidationErrorResponseSchema),
        Healthy: jsonSchema(HealthyResponseSchema),
        Unhealthy: jsonSchema(UnhealthyResponseSchema),
        ...Object.fromEntries(
          Object.entries(adminSchemas).map(([name, schema]) => [name, jsonSchema(schema)]),
        ),
      },
      headers: headerExamples,
      securitySchemes: {
        bearerAuth: {
          type: "http",
          scheme: "bearer",
          description: "One of the keys in the API_KEYS secret; not needed when API_KEYS is unset.",
        },
        adminAuth: {
          type: "http",
          scheme: "bearer",
          description:
            "One of the keys in the ADMIN_API_KEYS secret (the admin API exists only when it is set).",
        },
      },
    },
  };
}
