/**
 * Copies the few files of the `swagger-ui-dist` package that /docs loads into static/, with the page,
 * its initializer and its Content-Security-Policy (src/http/docs.ts), which wrangler serves as Workers
 * static assets (see [assets] in wrangler.toml), so the docs need no other host and no Worker code.
 * static/ is generated and git-ignored; npm runs this before dev, test, typecheck and deploy.
 */
import { copyFileSync, mkdirSync, rmSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { DOCS_ASSETS_PATH, DOCS_HEADERS, DOCS_INITIALIZER, DOCS_PAGE } from "../src/http/docs.ts";

const FILES = [
  "swagger-ui.css",
  "index.css",
  "swagger-ui-bundle.js",
  // The bundle's first line points its readers here; LICENSE and NOTICE go along, as Apache-2.0 asks.
  "swagger-ui-bundle.js.LICENSE.txt",
  "LICENSE",
  "NOTICE",
  "favicon-32x32.png",
];

const root = fileURLToPath(new URL("..", import.meta.url));
const source = dirname(fileURLToPath(import.meta.resolve("swagger-ui-dist/package.json")));
const staticDir = join(root, "static");
const target = join(staticDir, DOCS_ASSETS_PATH);

// Start clean, so a file dropped from the list is not served from a stale copy.
rmSync(staticDir, { recursive: true, force: true });
mkdirSync(target, { recursive: true });
for (const file of FILES) copyFileSync(join(source, file), join(target, file));
// The page itself (served at /docs), its initializer, and the policy on the page.
writeFileSync(join(staticDir, "docs.html"), DOCS_PAGE);
writeFileSync(join(staticDir, "docs", "init.js"), DOCS_INITIALIZER);
writeFileSync(join(staticDir, "_headers"), DOCS_HEADERS);
