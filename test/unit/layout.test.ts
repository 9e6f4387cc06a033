import { readdirSync, readFileSync } from "node:fs";
import { join, relative } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";

const src = fileURLToPath(new URL("../../src", import.meta.url));

/** Every import of every module under `dir`, as [importing file, imported file], relative to src/. */
function importsUnder(dir: string): Array<[string, string]> {
  const edges: Array<[string, string]> = [];
  for (const entry of readdirSync(join(src, dir), { withFileTypes: true, recursive: true })) {
    if (!entry.isFile() || !entry.name.endsWith(".ts")) continue;
    const file = join(entry.parentPath, entry.name);
    for (const [, target] of readFileSync(file, "utf8").matchAll(/from "(\.[^"]+)"/g)) {
      edges.push([relative(src, file), relative(src, join(entry.parentPath, target as string))]);
    }
  }
  return edges;
}

/** The modules `file` (relative to src/) loads when it runs: its imports, less `import type`, transitively. */
function loadedBy(file: string, seen = new Set<string>()): Set<string> {
  seen.add(file);
  const text = readFileSync(join(src, file), "utf8");
  for (const [, target] of text.matchAll(/^import (?!type )[^;]*? from "(\.[^"]+)"/gms)) {
    const loaded = relative(src, join(src, file, "..", target as string));
    if (!seen.has(loaded)) loadedBy(loaded, seen);
  }
  return seen;
}

describe('the layout\'s rule (README, "Local Redis and development")', () => {
  it("keeps the domain free of its callers: limiter/ and config/ import no adapter and no wiring", () => {
    const outward = [...importsUnder("limiter"), ...importsUnder("config")].filter(
      ([, target]) => /^(http|gate)\//.test(target) || /^(index|services|metrics|check)\.ts$/.test(target),
    );
    expect(outward).toEqual([]);
  });

  it("keeps HTTP from the gate", () => {
    expect(importsUnder("http").filter(([, target]) => target.startsWith("gate/"))).toEqual([]);
  });

  it("keeps the script's text out of the gate's middleware, which other Workers bundle", () => {
    expect(loadedBy("gate/middleware.ts")).not.toContain("limiter/token-bucket-script.ts");
    expect(loadedBy("index.ts")).toContain("limiter/token-bucket-script.ts");
  });
});
