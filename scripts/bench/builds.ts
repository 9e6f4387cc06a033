/**
 * The three Workers' scripts, each bundled as it would be deployed: this project's through
 * `wrangler deploy --dry-run` (wrangler.toml's settings, minified), the two peers with the esbuild that
 * wrangler itself uses, with wrangler's options for a modules Worker.
 */
import { execFile } from "node:child_process";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { gzipSync } from "node:zlib";
import { build, type Plugin } from "esbuild";

/** One bundled Worker script. */
export interface Bundle {
  script: string;
  /** Size of the script gzipped (level 6), as the upload is compressed. */
  gzipBytes: number;
}

const bundleOf = (script: string): Bundle => ({ script, gzipBytes: gzipSync(script).length });

/** This project's Worker (src/index.ts), exactly as `wrangler deploy` would upload it. */
export async function buildThisWorker(signal: AbortSignal): Promise<Bundle> {
  const outdir = await mkdtemp(join(tmpdir(), "rate-limiter-bench-"));
  try {
    // This Node, whatever `node` comes first on PATH: wrangler needs Node 22.
    const args = ["node_modules/wrangler/bin/wrangler.js", "deploy", "--dry-run", "--outdir", outdir];
    await promisify(execFile)(process.execPath, args, { signal }).catch(
      (error: { stdout?: string; stderr?: string; message: string }) => {
        throw new Error(
          `wrangler deploy --dry-run failed: ${error.stdout ?? ""}${error.stderr ?? error.message}`,
        );
      },
    );
    return bundleOf(await readFile(join(outdir, "index.js"), "utf8"));
  } finally {
    await rm(outdir, { recursive: true, force: true });
  }
}

/** A peer Worker from scripts/bench/peers/, bundled and minified with wrangler's esbuild options. */
export async function buildPeer(file: string, plugins: Plugin[] = []): Promise<Bundle> {
  const result = await build({
    entryPoints: [fileURLToPath(new URL(`peers/${file}`, import.meta.url))],
    bundle: true,
    write: false,
    format: "esm",
    target: "es2024",
    platform: "browser",
    conditions: ["workerd", "worker", "browser"],
    external: ["cloudflare:*"],
    define: { "process.env.NODE_ENV": '"production"' },
    minify: true,
    logLevel: "silent",
    plugins,
  });
  const output = result.outputFiles[0];
  if (output === undefined) throw new Error(`esbuild produced nothing for ${file}`);
  return bundleOf(output.text);
}
