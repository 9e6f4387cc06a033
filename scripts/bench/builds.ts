/**
 * The Workers' scripts, each bundled as it would be deployed: this project's through
 * `wrangler deploy --dry-run` (wrangler.toml's settings, minified), the peers with the esbuild that
 * wrangler itself uses, with wrangler's options for a modules Worker.
 */
import { execFile } from "node:child_process";
import { cp, mkdir, mkdtemp, readFile, rm, symlink, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { gzipSync } from "node:zlib";
import { build, type Plugin } from "esbuild";
import { parseDocument } from "yaml";
import { compileConfig } from "../compile-config.ts";
import type { BenchTier } from "./bench-tiers.ts";

/** One bundled Worker script. */
export interface Bundle {
  script: string;
  /** Size of the script gzipped (level 6), as the upload is compressed. */
  gzipBytes: number;
}

const bundleOf = (script: string): Bundle => ({ script, gzipBytes: gzipSync(script).length });

const root = fileURLToPath(new URL("../../", import.meta.url));

/** config.yaml with `extra` tiers added, compiled as `npm run config` does (and so checked as it checks). */
export async function compiledConfigWith(extra: readonly BenchTier[]): Promise<string> {
  const yaml = parseDocument(await readFile(join(root, "config.yaml"), "utf8"));
  for (const { name, limit, window } of extra) yaml.setIn(["tiers", name], { limit, window });
  const result = compileConfig(String(yaml));
  if (!result.ok) throw new Error(`the bench's config is invalid:\n  ${result.errors.join("\n  ")}`);
  return result.module;
}

/**
 * This project's Worker (src/index.ts), exactly as `wrangler deploy` would upload it, but with `extra`
 * tiers beside config.yaml's. It is built from a copy of src/ (and of what wrangler reads beside it) in a
 * temporary directory, whose compiled config has them: the work tree's own src/config/tiers.generated.ts,
 * which tests and `npm run dev` read, is never touched.
 */
export async function buildThisWorker(signal: AbortSignal, extra: readonly BenchTier[]): Promise<Bundle> {
  const dir = await mkdtemp(join(tmpdir(), "rate-limiter-bench-"));
  try {
    const project = join(dir, "project");
    await cp(join(root, "src"), join(project, "src"), { recursive: true });
    for (const file of ["wrangler.toml", "tsconfig.base.json", "package.json"])
      await cp(join(root, file), join(project, file));
    // wrangler checks that [assets]' directory exists; what is in it is uploaded apart from the script.
    await mkdir(join(project, "static"));
    await symlink(join(root, "node_modules"), join(project, "node_modules"), "dir");
    await writeFile(join(project, "src/config/tiers.generated.ts"), await compiledConfigWith(extra));
    const outdir = join(dir, "out");
    // This Node, whatever `node` comes first on PATH: wrangler needs Node 22.
    const wrangler = join(root, "node_modules/wrangler/bin/wrangler.js");
    const args = [wrangler, "deploy", "--dry-run", "--outdir", outdir];
    await promisify(execFile)(process.execPath, args, { signal, cwd: project }).catch(
      (error: { stdout?: string; stderr?: string; message: string }) => {
        throw new Error(
          `wrangler deploy --dry-run failed: ${error.stdout ?? ""}${error.stderr ?? error.message}`,
        );
      },
    );
    return bundleOf(await readFile(join(outdir, "index.js"), "utf8"));
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/**
 * A peer Worker from scripts/bench/peers/, bundled and minified with wrangler's esbuild options. With
 * `extra` tiers, a peer that reads the tiers through this project's own code gets config.yaml's and
 * these, compiled as for `buildThisWorker`, in place of src/config/tiers.generated.ts.
 */
export async function buildPeer(file: string, extra: readonly BenchTier[] = []): Promise<Bundle> {
  const plugins: Plugin[] = [];
  if (extra.length > 0) {
    const contents = await compiledConfigWith(extra);
    plugins.push({
      name: "bench-tiers",
      setup(build) {
        build.onLoad({ filter: /[\\/]src[\\/]config[\\/]tiers\.generated\.ts$/ }, () => ({
          contents,
          loader: "ts",
        }));
      },
    });
  }
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
