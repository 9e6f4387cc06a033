/**
 * The floor: the least any limiter that sends one request to Redis per decision can do (this project's
 * shares one among the calls of a turn: src/limiter/pipelining.ts). One EVALSHA of the project's
 * token-bucket script per request, sent with plain fetch to the REST endpoint; no validation, no headers,
 * a minimal body. The bench loads the script once at setup (SCRIPT LOAD), so EVALSHA never meets NOSCRIPT.
 */
import { limitsText } from "../../../src/limiter/script-reply.ts";
import { scriptSha, TOKEN_BUCKET_SCRIPT } from "../../../src/limiter/token-bucket-script.ts";
import { BENCH_TIERS } from "../bench-tiers.ts";

export interface FloorEnv {
  UPSTASH_REDIS_REST_URL: string;
  UPSTASH_REDIS_REST_TOKEN: string;
}

const tiers = new Map(BENCH_TIERS.map(({ name, limit, window }) => [name, [{ limit, window }]]));

// This isolate as the script's caller, and its calls' serial: drawn at the first request (workerd
// allows no random values in global scope).
let caller: string | undefined;
let serial = 0;

// Computed once per isolate: the SHA-1 of a constant never changes.
let sha: Promise<string> | undefined;

/** The bucket a request asked about, and the script's reply (undefined when Redis answered an error). */
export interface FloorCall {
  tierName: string;
  reply: unknown[] | undefined;
}

/** The floor's whole work: the body read, one EVALSHA on `<keyPrefix>:<tier>:<identifier>`. */
export async function evalOnce(request: Request, env: FloorEnv, keyPrefix: string): Promise<FloorCall> {
  const { identifier, tier: tierName } = (await request.json()) as { identifier: string; tier: string };
  const limits = tiers.get(tierName) ?? [{ limit: 1, window: 1 }];
  sha ??= scriptSha(TOKEN_BUCKET_SCRIPT);
  // The same KEYS and ARGV as the project's limiter with leases off (token-bucket-script.ts): the
  // bucket and the call's record key, the Worker's clock, a first attempt, how long the record is
  // kept, the tier's limits, no lease to settle or give back (0, 0, at 0), none wanted, its horizon,
  // this isolate as the caller and the call's serial, no lost call, one cost.
  caller ??= crypto.randomUUID().replaceAll("-", "").slice(0, 16);
  serial += 1;
  const command = [
    "EVALSHA",
    await sha,
    "3",
    `${keyPrefix}:${tierName}:${identifier}`,
    `${keyPrefix}/call/${caller}-${serial.toString(16)}`,
    `${keyPrefix}/call/${caller}-${serial.toString(16)}`,
    String(Date.now()),
    "0",
    "2000",
    limitsText(limits),
    "0",
    "0",
    "0",
    "0",
    "4000",
    caller,
    serial.toString(16),
    "",
    "1",
  ];
  const response = await fetch(env.UPSTASH_REDIS_REST_URL, {
    method: "POST",
    headers: {
      authorization: `Bearer ${env.UPSTASH_REDIS_REST_TOKEN}`,
      "content-type": "application/json",
    },
    body: JSON.stringify(command),
  });
  const { result } = (await response.json()) as { result?: unknown };
  return { tierName, reply: Array.isArray(result) ? result : undefined };
}

export default {
  async fetch(request: Request, env: FloorEnv): Promise<Response> {
    const { reply } = await evalOnce(request, env, "bench-floor");
    if (reply === undefined) return new Response("redis error", { status: 500 });
    const allowed = reply[0] === "1";
    return new Response(allowed ? '{"allowed":true}' : '{"allowed":false}', {
      status: allowed ? 200 : 429,
      headers: { "content-type": "application/json" },
    });
  },
};
