/**
 * A reference, not a limiter (`npm run bench -- --ceilings`): it reads the body as the peers do, never
 * asks Redis, and denies every request with the answer SPEC.md asks of a denial (spec-answer.ts). So on
 * this machine, through Miniflare, it is the harness's own ceiling for a denial settled without Redis
 * (the "hot" workload): what the harness, `request.json()` and the SPEC's headers cost. A Worker that
 * answers as the SPEC says does more before any limiting (the route, the Content-Type rule, the size
 * limit, the zod schema): input-answer-worker.ts is that Worker's ceiling.
 */
import { BENCH_TIERS } from "../bench-tiers.ts";
import { specAnswer } from "./spec-answer.ts";

const tiers = new Map(BENCH_TIERS.map((tier) => [tier.name, tier]));

export default {
  async fetch(request: Request): Promise<Response> {
    const { tier: tierName } = (await request.json()) as { identifier: string; tier: string };
    const tier = tiers.get(tierName);
    if (tier === undefined) return new Response("unknown tier", { status: 400 });
    return specAnswer(tier, false, 0);
  },
};
