/**
 * A reference, not a limiter (`npm run bench -- --ceilings`): the floor's one EVALSHA (floor-worker.ts),
 * then the answer SPEC.md asks (spec-answer.ts), its figures from the script's reply. No validation, no
 * deadline, no retries, no cache. No limiter that sends one request to Redis per decision and answers as
 * the SPEC says can do less, so it is the ceiling for a decision that needs a request of its own (the
 * "spread" workload); one that shares requests (src/limiter/pipelining.ts) can go past it.
 */
import { BENCH_TIERS } from "../bench-tiers.ts";
import { evalOnce, type FloorEnv } from "./floor-worker.ts";
import { specAnswer } from "./spec-answer.ts";

const tiers = new Map(BENCH_TIERS.map((tier) => [tier.name, tier]));

export default {
  async fetch(request: Request, env: FloorEnv): Promise<Response> {
    const { tierName, reply } = await evalOnce(request, env, "bench-floor-answer");
    const tier = tiers.get(tierName);
    if (reply === undefined || tier === undefined) return new Response("redis error", { status: 500 });
    // The reply: flags ('1' allowed), each bucket's tokens before the cost, ... (token-bucket-script.ts).
    const allowed = reply[0] === "1";
    const before = Number(String(reply[1]).split(",")[0]);
    return specAnswer(tier, allowed, allowed ? before - 1 : before);
  },
};
