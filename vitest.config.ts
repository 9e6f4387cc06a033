import { cloudflareTest } from "@cloudflare/vitest-plugin";
import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    projects: [
      {
        // The SRH-compatible REST server, in Node, against a redis-server each file starts itself.
        test: { name: "emulator", include: ["test/emulator/**/*.test.ts"], environment: "node" },
      },
      {
        // The Worker, in workerd, against the endpoint that global-setup.ts resolves.
        plugins: [
          cloudflareTest(({ inject }) => ({
            wrangler: { configPath: "./wrangler.toml" },
            miniflare: {
              bindings: {
                UPSTASH_REDIS_REST_URL: inject("redisRestUrl"),
                UPSTASH_REDIS_REST_TOKEN: inject("redisRestToken"),
              },
            },
          })),
        ],
        test: { name: "worker", include: ["test/worker/**/*.test.ts"], globalSetup: ["test/global-setup.ts"] },
      },
    ],
  },
});
