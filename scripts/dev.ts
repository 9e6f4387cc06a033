/**
 * `npm run dev`: `wrangler dev` on http://localhost:8787 (or `npm run dev -- --port N`) with a
 * Redis REST endpoint and no other step. The endpoint is UPSTASH_REDIS_REST_URL from the environment or .dev.vars when set
 * (SRH from docker compose, or a real Upstash database); otherwise a local redis-server with the
 * project's REST server in front, started here and stopped when wrangler stops or on Ctrl+C.
 * Settings in the environment are passed on to the Worker; .dev.vars is read by wrangler itself.
 */
import { spawn } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import { parseEnv } from "node:util";
import { type RedisRestEndpoint, startLocalRedisRest } from "./local-redis.ts";

const SETTINGS = [
  "UPSTASH_REDIS_REST_URL",
  "UPSTASH_REDIS_REST_TOKEN",
  "FAIL_MODE",
  "LOG_LEVEL",
  "REDIS_TIMEOUT_MS",
  "REDIS_RETRIES",
  "LEASE_MS",
  "API_KEYS",
  "ADMIN_API_KEYS",
] as const;

const devVars = existsSync(".dev.vars") ? parseEnv(readFileSync(".dev.vars", "utf8")) : {};
const vars: Record<string, string> = {};
for (const name of SETTINGS) {
  const value = process.env[name];
  if (value !== undefined && value !== "") vars[name] = value;
}

let endpoint: RedisRestEndpoint | undefined;
if (vars.UPSTASH_REDIS_REST_URL === undefined && devVars.UPSTASH_REDIS_REST_URL === undefined) {
  try {
    endpoint = await startLocalRedisRest();
  } catch (error) {
    console.error(error instanceof Error ? error.message : error);
    process.exit(1);
  }
  vars.UPSTASH_REDIS_REST_URL = endpoint.url;
  vars.UPSTASH_REDIS_REST_TOKEN = endpoint.token;
  console.log(`Local Redis REST endpoint: ${endpoint.url} (stopped with the dev server)`);
}

const userArgs = process.argv.slice(2);
// 8787 only when the user names no port: wrangler refuses a second --port ("expects a single value").
const namesPort = userArgs.some((arg) => arg === "--port" || arg.startsWith("--port="));
const args = [
  "dev",
  ...(namesPort ? [] : ["--port", "8787"]),
  ...Object.entries(vars).flatMap(([name, value]) => ["--var", `${name}:${value}`]),
];
// Also in wrangler's environment: it reads required secrets from there when there is no .dev.vars.
const wrangler = spawn("wrangler", [...args, ...userArgs], {
  stdio: "inherit",
  env: { ...process.env, ...vars },
});

let stopping = false;
async function stop(code: number) {
  if (stopping) return;
  stopping = true;
  wrangler.kill("SIGTERM");
  await endpoint?.stop();
  process.exit(code);
}
process.on("SIGINT", () => void stop(130));
process.on("SIGTERM", () => void stop(143));
wrangler.on("exit", (code) => void stop(code ?? 0));
