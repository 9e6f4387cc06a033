import { defineConfig } from "vitest/config";

/**
 * `npm run test:browser`: /docs in headless Chromium (Debian's `chromium`), against the Worker run by
 * wrangler with its static assets. Kept apart from `npm test`, which needs no browser.
 */
export default defineConfig({
  test: {
    name: "browser",
    include: ["test/browser/**/*.browser.ts"],
    environment: "node",
    testTimeout: 30_000,
    hookTimeout: 60_000,
  },
});
