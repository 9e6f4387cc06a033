/**
 * Compiles config.yaml into src/config/tiers.generated.ts, so the Worker ships its tiers as
 * typed constants and never parses YAML at request time. An invalid file stops the build with
 * a message naming the field. Run by npm before dev, test, typecheck and deploy.
 */
import { readFileSync, writeFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { parse } from "yaml";
import { ConfigSchema } from "../src/config/schema.ts";
import "./zod-locale.ts";

export type CompileResult = { ok: true; module: string } | { ok: false; errors: string[] };

/** Validates the YAML text and renders the TypeScript module, or lists what is wrong, field by field. */
export function compileConfig(yamlText: string): CompileResult {
  let raw: unknown;
  try {
    raw = parse(yamlText);
  } catch (error) {
    return { ok: false, errors: [`not valid YAML: ${error instanceof Error ? error.message : error}`] };
  }
  const result = ConfigSchema.safeParse(raw);
  if (!result.success) {
    return {
      ok: false,
      errors: result.error.issues.map((issue) => `${issue.path.join(".") || "(root)"}: ${issue.message}`),
    };
  }
  const module = `// Generated from config.yaml by scripts/compile-config.ts. Edit config.yaml, not this file.
import type { RateLimitConfig } from "./schema.ts";

export const config = ${JSON.stringify(result.data, null, 2)} as const satisfies RateLimitConfig;
`;
  return { ok: true, module };
}

// Usage: node scripts/compile-config.ts [config.yaml] [src/config/tiers.generated.ts]
if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const [source = fileURLToPath(new URL("../config.yaml", import.meta.url)), target] = process.argv.slice(2);
  const result = compileConfig(readFileSync(source, "utf8"));
  if (!result.ok) {
    console.error(`${source} is invalid:\n  ${result.errors.join("\n  ")}`);
    process.exit(1);
  }
  writeFileSync(target ?? new URL("../src/config/tiers.generated.ts", import.meta.url), result.module);
}
