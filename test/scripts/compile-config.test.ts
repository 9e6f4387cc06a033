import { spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { compileConfig } from "../../scripts/compile-config.ts";

const valid = `
tiers:
  free: { limit: 100, window: 60 }
  burst: { limit: 5, window: 0.5 }
default_tier: free
`;

function errorsOf(yaml: string): string[] {
  const result = compileConfig(yaml);
  if (result.ok) throw new Error("expected the configuration to be rejected");
  return result.errors;
}

describe("compileConfig", () => {
  it("renders a typed module holding the tiers", () => {
    const result = compileConfig(valid);
    expect(result.ok).toBe(true);
    if (!result.ok) return;
    expect(result.module).toContain("satisfies RateLimitConfig");
    expect(result.module).toContain(
      '"burst": {\n      "limits": [\n        {\n          "limit": 5,\n          "window": 0.5\n        }\n      ],\n      "mode": "enforce",\n      "lease": true\n    }',
    );
    expect(result.module).toContain('"default_tier": "free"');
  });

  it("names a missing tier field", () => {
    expect(errorsOf("tiers:\n  free: { limit: 100 }\ndefault_tier: free")).toEqual([
      expect.stringMatching(/^tiers\.free\.window: /),
    ]);
  });

  it("names non-positive numbers", () => {
    const errors = errorsOf("tiers:\n  free: { limit: 0, window: -1 }\ndefault_tier: free");
    expect(errors).toEqual([
      expect.stringMatching(/^tiers\.free\.limit: /),
      expect.stringMatching(/^tiers\.free\.window: /),
    ]);
  });

  it("names a limit that is not a whole number", () => {
    expect(errorsOf("tiers:\n  free: { limit: 1.5, window: 60 }\ndefault_tier: free")).toEqual([
      expect.stringMatching(/^tiers\.free\.limit: /),
    ]);
  });

  it("names a default tier that is not a tier", () => {
    expect(errorsOf("tiers:\n  free: { limit: 1, window: 60 }\ndefault_tier: gold")).toEqual([
      "default_tier: must name one of the tiers under 'tiers'",
    ]);
  });

  it("rejects tier names that could not go into a key or header, and unknown fields", () => {
    expect(errorsOf('tiers:\n  "a b": { limit: 1, window: 1 }\ndefault_tier: "a b"')[0]).toMatch(
      /^tiers\.a b: /,
    );
    expect(errorsOf("tiers:\n  free: { limit: 1, window: 1, burst: 3 }\ndefault_tier: free")[0]).toMatch(
      /^tiers\.free: .*burst/,
    );
  });

  it("compiles several limits per tier, and a shadow mode", () => {
    const result = compileConfig(`
tiers:
  pro: { limits: [ { limit: 20, window: 1 }, { limit: 1000, window: 60 } ], mode: shadow }
default_tier: pro
`);
    expect(result.ok).toBe(true);
    if (result.ok) expect(result.module).toMatch(/"limit": 20,[\s\S]*"limit": 1000,[\s\S]*"mode": "shadow"/);
  });

  it("compiles a tier decided in Redis request by request (`lease: false`), and names a lease that is not a boolean", () => {
    const result = compileConfig(
      "tiers:\n  strict: { limit: 5, window: 60, lease: false }\ndefault_tier: strict",
    );
    expect(result.ok).toBe(true);
    if (result.ok) expect(result.module).toContain('"lease": false');
    expect(
      errorsOf("tiers:\n  free: { limit: 5, window: 60, lease: sometimes }\ndefault_tier: free"),
    ).toEqual(["tiers.free.lease: must be true or false"]);
  });

  it("names a duplicate window, a tier with both forms, an empty list and an unknown mode", () => {
    const errors = (tier: string) => errorsOf(`tiers:\n  pro: ${tier}\ndefault_tier: pro`);
    expect(errors("{ limits: [ { limit: 20, window: 60 }, { limit: 1000, window: 60 } ] }")).toEqual([
      "tiers.pro.limits.1.window: 60 s is already the window of another limit",
    ]);
    expect(errors("{ limit: 5, window: 1, limits: [ { limit: 20, window: 60 } ] }")).toEqual([
      "tiers.pro.limits: give either 'limit' and 'window', or 'limits', not both",
    ]);
    expect(errors("{ limits: [] }")[0]).toMatch(/^tiers\.pro\.limits: /);
    expect(errors("{ limits: [ { limit: 20, window: 0 } ] }")[0]).toMatch(/^tiers\.pro\.limits\.0\.window: /);
    expect(errors("{ limit: 5, window: 1, mode: audit }")).toEqual([
      "tiers.pro.mode: must be 'enforce' or 'shadow'",
    ]);
  });

  it("rejects YAML that does not parse", () => {
    expect(errorsOf("tiers: [")[0]).toMatch(/^not valid YAML/);
  });
});

describe("the compile step run before dev, test and deploy", () => {
  const run = (...args: string[]) =>
    spawnSync(process.execPath, ["scripts/compile-config.ts", ...args], { encoding: "utf8" });

  it("writes the module for a valid file", () => {
    const dir = mkdtempSync(join(tmpdir(), "config-"));
    writeFileSync(join(dir, "config.yaml"), valid);
    const result = run(join(dir, "config.yaml"), join(dir, "tiers.ts"));
    expect(result.status).toBe(0);
    expect(readFileSync(join(dir, "tiers.ts"), "utf8")).toContain('"burst"');
  });

  it("stops with exit code 1 and a message naming the field for an invalid file", () => {
    const dir = mkdtempSync(join(tmpdir(), "config-"));
    writeFileSync(join(dir, "config.yaml"), "tiers:\n  pro: { limit: -5, window: 60 }\ndefault_tier: pro\n");
    const result = run(join(dir, "config.yaml"), join(dir, "tiers.ts"));
    expect(result.status).toBe(1);
    expect(result.stderr).toContain("is invalid:");
    expect(result.stderr).toMatch(/tiers\.pro\.limit: /);
    expect(existsSync(join(dir, "tiers.ts"))).toBe(false);
  });
});
