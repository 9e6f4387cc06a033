import { readFileSync } from "node:fs";
import { cloudflareTest } from "@cloudflare/vitest-plugin";
import { defineConfig } from "vitest/config";
import { TEST_LEASE_MS } from "./test/gate/lease-ms.ts";

/** The limiter Worker, built, as a Worker beside the one under test, with these settings. */
const limiterWorker = (name: string, scriptPath: string, bindings: Record<string, string>) => ({
  name,
  modules: true,
  script: readFileSync(scriptPath, "utf8"),
  compatibilityDate: "2026-11-01",
  bindings: { LOG_LEVEL: "ERROR", REDIS_TIMEOUT_MS: "300", ...bindings },
});

export default defineConfig({
  test: {
    projects: [
      {
        // Pure logic (decoding, validation, headers, the deny cache, the breaker, batching, the deadline), in Node: no Redis, no workerd, seconds.
        test: { name: "unit", include: ["test/unit/**/*.test.ts"], environment: "node" },
      },
      {
        // The SRH-compatible REST server, in Node, against a redis-server each file starts itself.
        test: { name: "redis-rest", include: ["test/redis-rest/**/*.test.ts"], environment: "node" },
      },
      {
        // The fault proxy the faults project puts between the Worker and Redis, checked on its own.
        test: { name: "fault-proxy", include: ["test/faults/support/**/*.test.ts"], environment: "node" },
      },
      {
        // The build scripts, in Node.
        test: { name: "scripts", include: ["test/scripts/**/*.test.ts"], environment: "node" },
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
                // The failure tests' expected warnings would bury the report; the log tests set their own.
                LOG_LEVEL: "ERROR",
              },
            },
          })),
        ],
        test: {
          name: "worker",
          include: ["test/worker/**/*.test.ts"],
          globalSetup: ["test/global-setup.ts"],
        },
      },
      {
        // The Worker in workerd behind the fault proxy, over a Redis of its own that the tests stop and kill.
        plugins: [
          cloudflareTest(({ inject }) => ({
            wrangler: { configPath: "./wrangler.toml" },
            miniflare: {
              bindings: {
                UPSTASH_REDIS_REST_URL: inject("faultProxyUrl"),
                UPSTASH_REDIS_REST_TOKEN: inject("faultRestToken"),
                LOG_LEVEL: "ERROR",
              },
            },
          })),
        ],
        test: {
          name: "faults",
          include: ["test/faults/**/*.test.ts"],
          // The proxy's own test runs in Node (project fault-proxy).
          exclude: ["test/faults/support/**"],
          globalSetup: ["test/faults/global-setup.ts"],
          setupFiles: ["test/faults/reset-after-each.ts"],
          // A fault is global state of the proxy: one file at a time, one test at a time, and after the
          // other projects, so their load does not eat into the deadline margins.
          fileParallelism: false,
          sequence: { concurrent: false, groupOrder: 1 },
          testTimeout: 30_000,
        },
      },
      {
        // The example consumer in workerd, gated by the limiter through its service binding.
        plugins: [
          cloudflareTest(({ inject }) => {
            const redis = {
              UPSTASH_REDIS_REST_URL: inject("redisRestUrl"),
              UPSTASH_REDIS_REST_TOKEN: inject("redisRestToken"),
            };
            const redisDown = { ...redis, UPSTASH_REDIS_REST_URL: inject("refusingUrl") };
            const script = inject("limiterScript");
            return {
              wrangler: { configPath: "./examples/consumer/wrangler.toml" },
              miniflare: {
                // For the embedded limiter, which talks to Redis from the consumer itself.
                bindings: { ...redis, LOG_LEVEL: "ERROR" },
                serviceBindings: {
                  LIMITER_HTTP: { name: "rate-limiter" },
                  // Two deployments of the limiter, two isolates, sharing buckets (test/gate/leases.test.ts).
                  LIMITER_LEASE_A: { name: "rate-limiter-lease-a" },
                  LIMITER_LEASE_B: { name: "rate-limiter-lease-b" },
                  LIMITER_REDIS_DOWN_CLOSED: {
                    name: "rate-limiter-redis-down-closed",
                    entrypoint: "RateLimiter",
                  },
                  LIMITER_REDIS_DOWN_OPEN: {
                    name: "rate-limiter-redis-down-open",
                    entrypoint: "RateLimiter",
                  },
                  LIMITER_BAD_ENV: { name: "rate-limiter-bad-env", entrypoint: "RateLimiter" },
                  LIMITER_BROKEN: { name: "rate-limiter-broken", entrypoint: "RateLimiter" },
                },
                workers: [
                  limiterWorker("rate-limiter", script, redis),
                  limiterWorker("rate-limiter-lease-a", script, {
                    ...redis,
                    LEASE_MS: String(TEST_LEASE_MS),
                  }),
                  limiterWorker("rate-limiter-lease-b", script, {
                    ...redis,
                    LEASE_MS: String(TEST_LEASE_MS),
                  }),
                  limiterWorker("rate-limiter-redis-down-closed", script, {
                    ...redisDown,
                    FAIL_MODE: "closed",
                  }),
                  limiterWorker("rate-limiter-redis-down-open", script, { ...redisDown, FAIL_MODE: "open" }),
                  // The real limiter deployed with a variable it cannot read: every check fails inside
                  // it (a SettingsError), an `internal` result that even FAIL_MODE=open must not allow.
                  limiterWorker("rate-limiter-bad-env", script, {
                    ...redis,
                    FAIL_MODE: "open",
                    REDIS_TIMEOUT_MS: "soon",
                  }),
                  {
                    // A limiter whose call fails outright (it throws, which the real one never does):
                    // the gate cannot get a decision at all.
                    name: "rate-limiter-broken",
                    modules: true,
                    compatibilityDate: "2026-11-01",
                    script: `import { WorkerEntrypoint } from "cloudflare:workers";
                      export class RateLimiter extends WorkerEntrypoint { check() { throw new Error("limiter crashed"); } }
                      export default { fetch: () => new Response(null, { status: 500 }) };`,
                  },
                ],
              },
            };
          }),
        ],
        test: {
          name: "gate",
          include: ["test/gate/**/*.test.ts"],
          globalSetup: ["test/global-setup.ts", "test/build-limiter.ts"],
        },
      },
    ],
  },
});
