import { describe, expect, it } from "vitest";
import { renderOpenApi } from "../../scripts/compile-openapi.ts";
import { buildOpenApiDocument } from "../../src/http/openapi-document.ts";

describe("renderOpenApi", () => {
  it("renders the document as the exact JSON text GET /openapi.json answers with", () => {
    const text = renderOpenApi();
    expect(text).toBe(JSON.stringify(buildOpenApiDocument()));
    expect(JSON.parse(text)).toMatchObject({
      openapi: "3.1.0",
      paths: { "/check": {}, "/health": {}, "/admin/overrides": {} },
    });
  });
});
