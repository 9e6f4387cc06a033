/**
 * `npm run size`: how big the deployed script is. Bundles the Worker as `wrangler deploy` would
 * (`--dry-run`, into a temporary directory), then prints the script's raw and gzipped size and what
 * weighs most in it, by package and by input file, from esbuild's metafile. A few seconds; not a test.
 */
import { execFile } from "node:child_process";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { constants, gzipSync } from "node:zlib";

/** One input of the bundle and the bytes it left in the minified output. */
export interface Contributor {
  name: string;
  bytes: number;
}

/** The script `wrangler deploy` would upload, in bytes, and what its bytes come from, largest first. */
export interface BundleSize {
  raw: number;
  /** gzip at zlib's default level: the "gzip:" figure `wrangler deploy` prints. */
  gzipped: number;
  /** gzip at level 9, as `gzip -9` would roughly give. */
  gzipped9: number;
  byPackage: Contributor[];
  byInput: Contributor[];
}

interface Metafile {
  outputs: Record<string, { bytes: number; inputs: Record<string, { bytesInOutput: number }> }>;
}

/** The npm package an input belongs to (`zod`, `@upstash/redis`), or `src` for the project's own code. */
function packageOf(input: string): string {
  const inPackage = /node_modules\/((?:@[^/]+\/)?[^/]+)\//.exec(input);
  return inPackage?.[1] ?? (input.startsWith("src/") ? "src" : input);
}

const largestFirst = (totals: Map<string, number>): Contributor[] =>
  [...totals].map(([name, bytes]) => ({ name, bytes })).sort((a, b) => b.bytes - a.bytes);

/** Builds the Worker with `wrangler deploy --dry-run` and measures the script it would upload. */
export async function measureBundle(
  cwd = fileURLToPath(new URL("..", import.meta.url)),
): Promise<BundleSize> {
  const outdir = await mkdtemp(join(tmpdir(), "rate-limiter-size-"));
  try {
    const metafile = join(outdir, "meta.json");
    // This Node (wrangler needs 22), not whatever `node` comes first on PATH.
    const args = ["node_modules/wrangler/bin/wrangler.js", "deploy", "--dry-run", "--outdir", outdir];
    await promisify(execFile)(process.execPath, [...args, "--metafile", metafile], { cwd }).catch((error) => {
      throw new Error(`wrangler deploy --dry-run failed: ${error.stdout ?? ""}${error.stderr ?? error}`);
    });
    const script = await readFile(join(outdir, "index.js"));
    const meta: Metafile = JSON.parse(await readFile(metafile, "utf8"));
    const output = Object.entries(meta.outputs).find(([name]) => name.endsWith("index.js"))?.[1];
    if (output === undefined) throw new Error("the metafile names no index.js output");
    const byPackage = new Map<string, number>();
    const byInput = new Map<string, number>();
    for (const [input, { bytesInOutput }] of Object.entries(output.inputs)) {
      byPackage.set(packageOf(input), (byPackage.get(packageOf(input)) ?? 0) + bytesInOutput);
      byInput.set(input.replace(/^.*node_modules\//, ""), bytesInOutput);
    }
    return {
      raw: script.length,
      gzipped: gzipSync(script).length,
      gzipped9: gzipSync(script, { level: constants.Z_BEST_COMPRESSION }).length,
      byPackage: largestFirst(byPackage),
      byInput: largestFirst(byInput),
    };
  } finally {
    await rm(outdir, { recursive: true, force: true });
  }
}

const kb = (bytes: number) => `${(bytes / 1024).toFixed(2)} KiB`;

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const size = await measureBundle();
  const table = (rows: Contributor[]) =>
    rows.map(({ name, bytes }) => `  ${String(bytes).padStart(7)}  ${name}`).join("\n");
  console.log(
    `script: ${size.raw} bytes (${kb(size.raw)}); gzipped ${size.gzipped} bytes (${kb(size.gzipped)}, ` +
      `as wrangler reports it); gzip level 9: ${size.gzipped9} bytes (${kb(size.gzipped9)})`,
  );
  console.log(`\nbytes in the minified script, by package:\n${table(size.byPackage)}`);
  console.log(`\ntop 10 inputs:\n${table(size.byInput.slice(0, 10))}`);
}
