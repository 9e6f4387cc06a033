/**
 * Writes the OpenAPI document to static/openapi.json, which Workers static assets serve without
 * running the Worker: the document ships neither zod's JSON Schema generator nor its own 20 KB of
 * text in the Worker's script. Run by npm, after copy-docs-assets.ts (which clears static/), before
 * dev, test, typecheck and deploy: a schema or config change shows on the next run.
 */
import { mkdirSync, writeFileSync } from "node:fs";
import { dirname } from "node:path";
import { fileURLToPath } from "node:url";
import { buildOpenApiDocument } from "../src/http/openapi-document.ts";

/** The exact text `GET /openapi.json` answers with. */
export function renderOpenApi(): string {
  return JSON.stringify(buildOpenApiDocument());
}

// Usage: node scripts/compile-openapi.ts [static/openapi.json]
if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const target = process.argv[2] ?? fileURLToPath(new URL("../static/openapi.json", import.meta.url));
  mkdirSync(dirname(target), { recursive: true });
  writeFileSync(target, renderOpenApi());
}
