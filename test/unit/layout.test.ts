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
});
