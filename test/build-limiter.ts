import { execFileSync } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { TestProject } from "vitest/node";
import "./provided-context.ts";

/**
 * Bundles the limiter Worker as `wrangler deploy` would, so the gate tests can run it beside the
 * example consumer: the plugin bundles the Worker under test, not the Workers it binds to.
 */
export default function buildLimiter(project: TestProject): () => void {
  const outdir = mkdtempSync(join(tmpdir(), "rate-limiter-build-"));
  // Output only shows when the build fails (execFileSync's error carries it); the secrets it
  // would warn about are given to the test Workers by vitest.config.ts.
  execFileSync("node_modules/.bin/wrangler", ["deploy", "--dry-run", "--outdir", outdir], { stdio: "pipe" });
  project.provide("limiterScript", join(outdir, "index.js"));
  return () => rmSync(outdir, { recursive: true, force: true });
}
