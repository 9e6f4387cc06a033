/**
 * CLI of the SRH-compatible Upstash REST server: `npm run redis-rest -- --port 8079 --redis redis://… --token …`.
 * Flags win over SRH's environment variables, which win over the defaults of docker-compose.yml's SRH.
 */
import { parseArgs } from "node:util";
import { parseRedisUrl } from "./redis-rest/redis-url.ts";
import { startRedisRestServer } from "./redis-rest/server.ts";

const USAGE = `Usage: npm run redis-rest -- [options]

An Upstash Redis REST endpoint (SRH-compatible) in front of a redis-server.

Options (environment variable in brackets):
  --port <n>             port to listen on, 0 for any free one [SRH_PORT]      (default 8079)
  --host <addr>          address to listen on                                  (default 127.0.0.1)
  --token <s>            bearer token clients must send [SRH_TOKEN]            (default example_token)
  --redis <url>          redis://[[user]:pass@]host[:port][/db] or rediss://   (default redis://127.0.0.1:6379)
                         [SRH_CONNECTION_STRING]
  --max-connections <n>  shared Redis connections [SRH_MAX_CONNECTIONS]        (default 4)
  --script-flags <mode>  upstash: accept Upstash's allow-key-locking script    (default upstash)
                         flag; strict: pass it to Redis, which refuses it, as
                         SRH does [REDIS_REST_SCRIPT_FLAGS]
  --help                 show this help`;

function fail(message: string): never {
  process.stderr.write(`redis-rest: ${message}\n\n${USAGE}\n`);
  process.exit(2);
}

function integer(name: string, text: string, min: number, max: number): number {
  const value = Number(text);
  if (!/^\d+$/.test(text) || value < min || value > max)
    fail(`${name} must be an integer from ${min} to ${max}`);
  return value;
}

function parseFlags() {
  try {
    return parseArgs({
      options: {
        port: { type: "string" },
        host: { type: "string" },
        token: { type: "string" },
        redis: { type: "string" },
        "max-connections": { type: "string" },
        "script-flags": { type: "string" },
        help: { type: "boolean" },
      },
      strict: true,
      allowPositionals: false,
    }).values;
  } catch (error) {
    return fail(error instanceof Error ? error.message : String(error));
  }
}

const parsed = parseFlags();
if (parsed.help) {
  process.stdout.write(`${USAGE}\n`);
  process.exit(0);
}

const env = process.env;
const port = integer("--port", parsed.port ?? env.SRH_PORT ?? "8079", 0, 65535);
const poolSize = integer(
  "--max-connections",
  parsed["max-connections"] ?? env.SRH_MAX_CONNECTIONS ?? "4",
  1,
  64,
);
const token = parsed.token ?? env.SRH_TOKEN ?? "example_token";
if (token === "" || token.includes(" ")) fail("--token must be non-empty and without spaces");
const scriptFlags = parsed["script-flags"] ?? env.REDIS_REST_SCRIPT_FLAGS ?? "upstash";
if (scriptFlags !== "upstash" && scriptFlags !== "strict") fail("--script-flags must be upstash or strict");
const redisUrl = parsed.redis ?? env.SRH_CONNECTION_STRING ?? "redis://127.0.0.1:6379";
try {
  parseRedisUrl(redisUrl);
} catch (error) {
  fail(error instanceof Error ? error.message : String(error));
}

try {
  const server = await startRedisRestServer({
    port,
    host: parsed.host,
    token,
    redisUrl,
    poolSize,
    scriptFlags,
  });
  process.stdout.write(
    `redis-rest: listening on ${server.url} in front of ${redisUrl.replace(/\/\/[^@/]*@/, "//***@")}\n` +
      `UPSTASH_REDIS_REST_URL=${server.url}\nUPSTASH_REDIS_REST_TOKEN=${token}\n`,
  );
  let stopping = false;
  const stop = (signal: NodeJS.Signals) => {
    // A second Ctrl-C means "now": skip the graceful close.
    if (stopping) process.exit(130);
    stopping = true;
    process.stdout.write(`redis-rest: ${signal}, stopping\n`);
    server.close().then(
      () => process.exit(0),
      () => process.exit(1),
    );
  };
  process.on("SIGINT", stop);
  process.on("SIGTERM", stop);
} catch (error) {
  process.stderr.write(
    `redis-rest: cannot listen: ${error instanceof Error ? error.message : String(error)}\n`,
  );
  process.exit(1);
}
