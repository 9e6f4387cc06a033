import { describe, expect, it } from "vitest";
import { renderOpenApiModule } from "../../scripts/compile-openapi.ts";
import { buildOpenApiDocument } from "../../src/http/openapi-document.ts";

/** The JSON text the rendered module exports, read back the way the Worker's bundle would hold it. */
function exportedText(module: string): string {
  const match = /^export const OPENAPI_JSON = (".*");$/m.exec(module);
  if (match?.[1] === undefined) throw new Error(`no OPENAPI_JSON export in:\n${module}`);
  return JSON.parse(match[1]);
}

describe("renderOpenApiModule", () => {
  it("exports the document as the exact JSON text GET /openapi.json answers with", () => {
    const text = exportedText(renderOpenApiModule());
    expect(text).toBe(JSON.stringify(buildOpenApiDocument()));
    expect(JSON.parse(text)).toMatchObject({ openapi: "3.1.0", paths: { "/check": {}, "/health": {} } });
  });
});
