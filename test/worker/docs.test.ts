import { exports } from "cloudflare:workers";
import { describe, expect, inject, it } from "vitest";
import type * as z from "zod/mini";
import {
  AllowedResponseSchema,
  ErrorResponseSchema,
  HealthyResponseSchema,
  LimitedResponseSchema,
  UnhealthyResponseSchema,
  ValidationErrorResponseSchema,
} from "../../src/http/response-schemas.ts";
import { checkRequest, fetchWith, postCheck, unique } from "./helpers.ts";

interface Example {
  summary: string;
  value: unknown;
}
interface MediaType {
  schema: { $ref?: string; properties?: Record<string, Record<string, unknown>>; required?: string[] };
  examples: Record<string, Example>;
}
interface Operation {
  operationId: string;
  description?: string;
  tags?: string[];
  security?: Record<string, string[]>[];
  requestBody?: { required: boolean; content: Record<string, MediaType> };
  responses: Record<
    string,
    { headers?: Record<string, { $ref: string }>; content: Record<string, MediaType> }
  >;
}
interface OpenApiDocument {
  openapi: string;
  tags?: { name: string; description?: string }[];
  servers: { url: string }[];
  paths: Record<string, Record<string, Operation>>;
  components: {
    schemas: Record<string, unknown>;
    headers: Record<string, { schema: unknown; example: unknown }>;
    securitySchemes: Record<string, { type: string; scheme: string }>;
  };
}

async function openApi(): Promise<OpenApiDocument> {
  const response = await exports.default.fetch("http://limiter.test/openapi.json");
  expect(response.status).toBe(200);
  expect(response.headers.get("content-type")).toMatch(/^application\/json/);
  return response.json();
}

const SCHEMA_OF_REF: Record<string, z.ZodMiniType> = {
  "#/components/schemas/Allowed": AllowedResponseSchema,
  "#/components/schemas/Limited": LimitedResponseSchema,
  "#/components/schemas/Error": ErrorResponseSchema,
  "#/components/schemas/ValidationError": ValidationErrorResponseSchema,
  "#/components/schemas/Healthy": HealthyResponseSchema,
  "#/components/schemas/Unhealthy": UnhealthyResponseSchema,
};

/** Parses a body with a documented schema; extra fields, which parsing drops, fail the comparison. */
function expectShape(schema: z.ZodMiniType, body: unknown) {
  expect(schema.parse(body)).toEqual(body);
}

describe("GET /openapi.json", () => {
  it("is an OpenAPI 3.1 document with both operations, served to this same Worker", async () => {
    const doc = await openApi();
    expect(doc.openapi).toMatch(/^3\.1\./);
    expect(doc.paths["/check"]?.post?.operationId).toBe("check");
    expect(doc.paths["/health"]?.get?.operationId).toBe("health");
    expect(doc.servers).toEqual([expect.objectContaining({ url: "/" })]);
  });

  it("documents every status of /check and /health, each with an example of its schema", async () => {
    const doc = await openApi();
    const documented = {
      "/check": ["200", "400", "401", "413", "422", "429", "503"],
      "/health": ["200", "503"],
    };
    for (const [path, statuses] of Object.entries(documented)) {
      const operation = Object.values(doc.paths[path] ?? {})[0];
      expect(Object.keys(operation?.responses ?? {}).sort()).toEqual(expect.arrayContaining(statuses));
      for (const status of statuses) {
        const media = operation?.responses[status]?.content["application/json"];
        const schema = SCHEMA_OF_REF[media?.schema.$ref ?? ""];
        expect(schema, `${path} ${status} names a known schema`).toBeDefined();
        const examples = Object.values(media?.examples ?? {});
        expect(examples.length, `${path} ${status} has an example`).toBeGreaterThan(0);
        for (const example of examples) expectShape(schema as z.ZodMiniType, example.value);
      }
    }
  });

  it("documents the rate-limit headers with examples, and Retry-After on 429 and 503", async () => {
    const doc = await openApi();
    const responses = doc.paths["/check"]?.post?.responses ?? {};
    const headersOf = (status: string) => Object.keys(responses[status]?.headers ?? {});
    const rateLimit = [
      "RateLimit-Policy",
      "RateLimit",
      "RateLimit-Limit",
      "RateLimit-Remaining",
      "RateLimit-Reset",
    ];
    expect(headersOf("200")).toEqual(rateLimit);
    expect(headersOf("429")).toEqual([...rateLimit, "Retry-After"]);
    expect(headersOf("503")).toEqual(["Retry-After"]);
    expect(headersOf("401")).toEqual(["WWW-Authenticate"]);
    for (const name of [...rateLimit, "Retry-After", "WWW-Authenticate"]) {
      expect(doc.components.headers[name]?.example, name).toBeDefined();
    }
    expect(doc.components.headers["RateLimit-Policy"]?.example).toBe('"free";q=100;w=60');
  });

  it("describes the request body with the schema that validates it", async () => {
    const doc = await openApi();
    const body = doc.paths["/check"]?.post?.requestBody;
    expect(body?.required).toBe(true);
    const schema = body?.content["application/json"]?.schema;
    expect(schema?.required).toEqual(["identifier"]);
    // The rules of src/limiter/check-schema.ts, refinements included, as a schema change would show them.
    expect(schema?.properties?.identifier).toMatchObject({ type: "string", minLength: 1, maxLength: 256 });
    expect(new RegExp(String(schema?.properties?.identifier?.pattern)).test("a\u0000b")).toBe(false);
    expect(schema?.properties?.tier).toMatchObject({ type: ["string", "null"] });
    expect(schema?.properties?.cost).toMatchObject({ type: "integer", minimum: 0, default: 1 });
    expect(schema?.properties?.cost).not.toHaveProperty("maximum");
    expect(Object.keys(body?.content["application/json"]?.examples ?? {})).toContain("default");
  });

  it("documents the admin API's 503, with Retry-After, on every operation", async () => {
    const doc = await openApi();
    const admin = Object.entries(doc.paths).filter(([path]) => path.startsWith("/admin/"));
    expect(admin.length).toBeGreaterThan(0);
    for (const [path, item] of admin) {
      for (const [method, operation] of Object.entries(item)) {
        if (method === "parameters") continue;
        expect(operation.responses["503"]?.headers, `${method} ${path}`).toHaveProperty("Retry-After");
      }
    }
  });

  it("puts every operation under a declared tag with a description, none under Swagger UI's 'default'", async () => {
    const doc = await openApi();
    const declared = new Map((doc.tags ?? []).map(({ name, description }) => [name, description]));
    for (const [name, description] of declared) expect(description, name).toMatch(/\w/);
    expect(doc.paths["/check"]?.post?.tags).toEqual(["Rate limiting"]);
    expect(doc.paths["/health"]?.get?.tags).toEqual(["Health"]);
    for (const [path, item] of Object.entries(doc.paths)) {
      for (const [method, operation] of Object.entries(item)) {
        if (method === "parameters") continue;
        expect(operation.tags, `${method} ${path}`).toHaveLength(1);
        expect([...declared.keys()], `${method} ${path}`).toContain(operation.tags?.[0]);
      }
    }
  });

  it("says how an answer may come without Redis: from a lease, or a certain denial", async () => {
    const description = (await openApi()).paths["/check"]?.post?.description ?? "";
    expect(description).toMatch(/lease/);
    expect(description).toMatch(/LEASE_MS/);
    expect(description).toMatch(/lease: false/);
  });

  it("declares the bearer key as optional, since it is needed only when API_KEYS is set", async () => {
    const doc = await openApi();
    expect(doc.components.securitySchemes.bearerAuth).toMatchObject({ type: "http", scheme: "bearer" });
    expect(doc.paths["/check"]?.post?.security).toEqual([{}, { bearerAuth: [] }]);
    expect(doc.paths["/health"]?.get?.security).toBeUndefined();
  });

  it("answers a method other than GET with 405", async () => {
    for (const path of ["/openapi.json", "/docs"]) {
      const response = await exports.default.fetch(`http://limiter.test${path}`, { method: "POST" });
      expect(response.status).toBe(405);
      expect(response.headers.get("Allow")).toBe("GET, HEAD");
    }
  });
});

describe("the answers match the documented schemas", () => {
  const refusing = { UPSTASH_REDIS_REST_URL: inject("refusingUrl"), REDIS_TIMEOUT_MS: "300" };

  it("on /check", async () => {
    const identifier = unique("documented");
    const allowed = await postCheck({ identifier, cost: 100 });
    expect(allowed.status).toBe(200);
    expectShape(AllowedResponseSchema, await allowed.json());
    const limited = await postCheck({ identifier });
    expect(limited.status).toBe(429);
    expectShape(LimitedResponseSchema, await limited.json());
    for (const [body, status] of [
      [{ identifier, tier: "gold" }, 400],
      [{ identifier, padding: "x".repeat(5000) }, 413],
    ] as const) {
      const response = await postCheck(body);
      expect(response.status).toBe(status);
      expectShape(ErrorResponseSchema, await response.json());
    }
    const invalid = await postCheck({ tier: "free" });
    expect(invalid.status).toBe(422);
    expectShape(ValidationErrorResponseSchema, await invalid.json());
    const unauthorized = await fetchWith({ API_KEYS: "key-one" }, checkRequest({ identifier }));
    expect(unauthorized.status).toBe(401);
    expectShape(ErrorResponseSchema, await unauthorized.json());
    for (const FAIL_MODE of ["closed", "open"]) {
      const response = await fetchWith({ ...refusing, FAIL_MODE }, checkRequest({ identifier }));
      expectShape(
        FAIL_MODE === "closed" ? ErrorResponseSchema : AllowedResponseSchema,
        await response.json(),
      );
    }
  });

  it("on /health", async () => {
    const healthy = await exports.default.fetch("http://limiter.test/health");
    expectShape(HealthyResponseSchema, await healthy.json());
    const unhealthy = await fetchWith(refusing, new Request("http://limiter.test/health"));
    expect(unhealthy.status).toBe(503);
    expectShape(UnhealthyResponseSchema, await unhealthy.json());
  });
});

describe("GET /docs", () => {
  it("is Swagger UI loading its files from this Worker only", async () => {
    const response = await exports.default.fetch("http://limiter.test/docs");
    expect(response.status).toBe(200);
    expect(response.headers.get("content-type")).toMatch(/^text\/html/);
    const html = await response.text();
    expect(html).toContain('<div id="swagger-ui">');
    const urls = [...html.matchAll(/\b(?:src|href)="([^"]*)"/g)].map((match) => match[1]);
    expect(urls).toEqual(
      expect.arrayContaining(["/docs/swagger-ui/swagger-ui.css", "/docs/swagger-ui/swagger-ui-bundle.js"]),
    );
    for (const url of urls) expect(url).toMatch(/^\/[^/]/);
    expect(html).not.toMatch(/<script>|<style>/);
    // The browser enforces it too: no script, style, image or fetch from another origin.
    const policy = response.headers.get("content-security-policy") ?? "";
    expect(policy).toContain("default-src 'none'");
    expect(policy).toContain("connect-src 'self'");
    expect(policy).not.toMatch(/https?:|\*/);
  });

  it("starts Swagger UI on /openapi.json, with no validator badge from another host", async () => {
    const response = await exports.default.fetch("http://limiter.test/docs/init.js");
    expect(response.status).toBe(200);
    expect(response.headers.get("content-type")).toMatch(/^text\/javascript/);
    const script = await response.text();
    expect(script).toContain('url: "/openapi.json"');
    expect(script).toContain("validatorUrl: null");
  });
});
