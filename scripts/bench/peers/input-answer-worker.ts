/**
 * A reference, not a limiter (`npm run bench -- --ceilings`): answer only (answer-only-worker.ts) after the
 * input handling SPEC.md asks of `POST /check` before any limiting, done by this project's own code: the
 * method and path, as the Worker routes them (src/index.ts), then the body read as the route reads it
 * (`readCheckRequest`: Content-Length and Content-Type, the UTF-8 text, the zod schema, the tier). It is
 * built with the bench's tiers compiled in (builds.ts); it answers 404 off `POST /check`, and 422 with
 * the error's message to a check it cannot read (the bench sends none).
 *
 * Answer only reads the body with `request.json()` and nothing else, which a Worker that answers as the
 * SPEC says cannot: this one is the ceiling such a Worker can reach for a denial it settles alone. This
 * Worker's ratio to it is what the limiter's own work costs; its ratio to answer only, what the SPEC's
 * input handling does.
 */
import type { NamedTier } from "../../../src/config/tiers.ts";
import { readCheckRequest } from "../../../src/http/check-request.ts";
import { pathOf } from "../../../src/http/url-path.ts";
import { createLogger } from "../../../src/log.ts";
import { specAnswer } from "./spec-answer.ts";

const log = createLogger("ERROR");

export default {
  async fetch(request: Request): Promise<Response> {
    if (request.method !== "POST" || pathOf(request.url) !== "/check") {
      return new Response("not found", { status: 404 });
    }
    let tier: NamedTier;
    try {
      ({ tier } = await readCheckRequest(request, log));
    } catch (error) {
      return new Response(String(error), { status: 422 });
    }
    const [bucket] = tier.limits;
    if (bucket === undefined) throw new Error(`tier ${tier.name} has no bucket`);
    return specAnswer({ name: tier.name, ...bucket }, false, 0);
  },
};
