/**
 * @upstash/ratelimit 2.2.x opens every Lua script with `#!lua flags=allow-key-locking`, a flag that Upstash's
 * own Redis accepts and stock Redis 7 rejects ("Unexpected flag in script shebang"), and it calls the
 * scripts by hard-coded SHA-1s of that text. To run it against the same redis-server as the other Workers,
 * the bench removes that line from each script and puts the SHA-1 of the shortened script in place of the
 * old one. Without the second step every EVALSHA would meet NOSCRIPT and fall back to EVAL: twice the
 * commands, and the whole script sent each time. The package on disk is never touched: the esbuild plugin
 * below rewrites the copy being bundled.
 */
import { createHash } from "node:crypto";
import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { compileFunction } from "node:vm";
import type { Plugin } from "esbuild";

/** The line Redis 7 refuses, with its newline. */
export const SHEBANG = "#!lua flags=allow-key-locking\n";

/** What the patch changed, for the bench to print. */
export interface UpstashPatch {
  version: string;
  /** Scripts that lost the shebang line. */
  stripped: number;
  /** The scripts that had the line, as the package ships them, with their old and new SHA-1s. */
  rehashed: Array<{ script: string; hash: string; newHash: string }>;
  plugin: Plugin;
}

const sha1 = (text: string) => createHash("sha1").update(text).digest("hex");

/**
 * The package's `{ script: <variable>, hash: "<sha1>" }` pairs, with the variables' values, read by running
 * its CommonJS build in a function scope (it only defines constants and classes when loaded).
 */
function scriptTable(source: string, file: string): Array<{ script: string; hash: string }> {
  const pairs = [...source.matchAll(/script:\s*([A-Za-z_$][\w$]*),\s*hash:\s*"([0-9a-f]{40})"/g)];
  if (pairs.length === 0) throw new Error(`no { script, hash } pairs found in ${file}`);
  const names = [...new Set(pairs.map((pair) => pair[1] as string))];
  const body = `${source}\n;module.exports.__benchScripts = { ${names.join(", ")} };`;
  const module = { exports: {} as { __benchScripts?: Record<string, string> } };
  compileFunction(body, ["module", "exports", "require"], { filename: file })(
    module,
    module.exports,
    createRequire(file),
  );
  const values = module.exports.__benchScripts ?? {};
  return pairs.map((pair) => ({ script: values[pair[1] as string] ?? "", hash: pair[2] as string }));
}

/** Works out the new SHA-1s from the installed package, and returns the plugin that applies them. */
export function patchUpstashRatelimit(): UpstashPatch {
  const require = createRequire(import.meta.url);
  const cjsFile = require.resolve("@upstash/ratelimit");
  const { version } = require("@upstash/ratelimit/package.json") as { version: string };
  const rehashed: UpstashPatch["rehashed"] = [];
  for (const { script, hash } of scriptTable(readFileSync(cjsFile, "utf8"), cjsFile)) {
    if (sha1(script) !== hash)
      throw new Error(`@upstash/ratelimit ${version}: ${hash} is not its script's SHA-1`);
    if (script.startsWith(SHEBANG))
      rehashed.push({ script, hash, newHash: sha1(script.slice(SHEBANG.length)) });
  }

  const patch: UpstashPatch = {
    version,
    stripped: 0,
    rehashed,
    plugin: {
      name: "strip-upstash-ratelimit-shebang",
      setup(build) {
        build.onLoad({ filter: /[\\/]@upstash[\\/]ratelimit[\\/]dist[\\/]index\.m?js$/ }, (args) => {
          let source = readFileSync(args.path, "utf8");
          patch.stripped = source.split(SHEBANG).length - 1;
          source = source.replaceAll(SHEBANG, "");
          for (const { hash, newHash } of rehashed) {
            if (!source.includes(`"${hash}"`)) throw new Error(`${args.path}: SHA-1 ${hash} not found`);
            source = source.replaceAll(`"${hash}"`, `"${newHash}"`);
          }
          if (patch.stripped !== rehashed.length) {
            throw new Error(
              `${args.path}: ${patch.stripped} shebangs but ${rehashed.length} hashed scripts with one`,
            );
          }
          return { contents: source, loader: "js" };
        });
      },
    },
  };
  return patch;
}
