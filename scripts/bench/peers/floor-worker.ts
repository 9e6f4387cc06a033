/**
 * The floor: the least any limiter that asks Redis on every request can do. One EVALSHA of the project's
 * token-bucket script per request, sent with plain fetch to the REST endpoint; no validation, no headers,
 * a minimal body. The bench loads the script once at setup (SCRIPT LOAD), so EVALSHA never meets NOSCRIPT.
 */
import { config } from "../../../src/config/tiers.generated.ts";
import type { Limit } from "../../../src/config/tiers.ts";
import { limitsText } from "../../../src/limiter/script-reply.ts";
import { TOKEN_BUCKET_SCRIPT } from "../../../src/limiter/token-bucket-script.ts";

interface FloorEnv {
  UPSTASH_REDIS_REST_URL: string;
  UPSTASH_REDIS_REST_TOKEN: string;
}

const tiers: Record<string, { limits: readonly Limit[] }> = config.tiers;

// Computed once per isolate: the SHA-1 of a constant never changes.
let scriptSha: Promise<string> | undefined;
async function sha1Hex(text: string): Promise<string> {
  const digest = await crypto.subtle.digest("SHA-1", new TextEncoder().encode(text));
  return [...new Uint8Array(digest)].map((byte) => byte.toString(16).padStart(2, "0")).join("");
}

export default {
  async fetch(request: Request, env: FloorEnv): Promise<Response> {
    const { identifier, tier: tierName } = (await request.json()) as { identifier: string; tier: string };
    const tier = tiers[tierName] ?? { limits: [{ limit: 1, window: 1 }] };
    scriptSha ??= sha1Hex(TOKEN_BUCKET_SCRIPT);
    // The same KEYS and ARGV as the project's limiter: the Worker's clock, a call id, how long the
    // call is remembered, the tier's limits, one cost.
    const command = [
      "EVALSHA",
      await scriptSha,
      "1",
      `bench-floor:${tierName}:${identifier}`,
      String(Date.now()),
      crypto.randomUUID().replaceAll("-", "").slice(0, 16),
      "2000",
      limitsText(tier.limits),
      "1",
    ];
    const reply = await fetch(env.UPSTASH_REDIS_REST_URL, {
      method: "POST",
      headers: {
        authorization: `Bearer ${env.UPSTASH_REDIS_REST_TOKEN}`,
        "content-type": "application/json",
      },
      body: JSON.stringify(command),
    });
    const { result } = (await reply.json()) as { result?: unknown[] };
    if (!Array.isArray(result)) return new Response("redis error", { status: 500 });
    const allowed = result[0] === "1";
    return new Response(allowed ? '{"allowed":true}' : '{"allowed":false}', {
      status: allowed ? 200 : 429,
      headers: { "content-type": "application/json" },
    });
  },
};
