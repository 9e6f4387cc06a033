/**
 * Renders the OpenAPI document into src/http/openapi.generated.ts as JSON text, so the Worker serves a
 * constant and does not ship zod's JSON Schema generator to every isolate. Run by npm, with
 * compile-config.ts, before dev, test, typecheck and deploy: a schema change shows on the next run.
 */
import { writeFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { buildOpenApiDocument } from "../src/http/openapi-document.ts";

/** The TypeScript module holding the document as the exact text `GET /openapi.json` answers with. */
export function renderOpenApiModule(): string {
  const text = JSON.stringify(buildOpenApiDocument());
  return `// Generated from src/http/openapi-document.ts by scripts/compile-openapi.ts. Do not edit.
/** The OpenAPI 3.1 document, as JSON text. */
export const OPENAPI_JSON = ${JSON.stringify(text)};
`;
}

// Usage: node scripts/compile-openapi.ts [src/http/openapi.generated.ts]
if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const [target] = process.argv.slice(2);
  writeFileSync(
    target ?? new URL("../src/http/openapi.generated.ts", import.meta.url),
    renderOpenApiModule(),
  );
}
