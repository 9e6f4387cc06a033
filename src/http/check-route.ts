import { checkCounted } from "../check.ts";
import { type Services, servicesFor } from "../services.ts";
import { checkBody, limitedBody } from "./answers.ts";
import { requireApiKey } from "./api-keys.ts";
import { readCheckRequest } from "./check-request.ts";
import { errorResponse } from "./errors.ts";
import { rateLimitHeaders } from "./rate-limit-headers.ts";

/** What the route needs of its execution context (Hono's type of it, or workerd's). */
type WaitUntil = Pick<ExecutionContext, "waitUntil">;

/**
 * `POST /check`: 200 with the decision when allowed, 429 with it under `detail` when not; errors
 * answered by the API's one error policy. It is the Worker's hot path, served by the composition
 * root without the router (see index.ts), and it builds its Response at once, headers in one record.
 */
export async function serveCheck(request: Request, env: object, ctx: WaitUntil): Promise<Response> {
  let services: Services | undefined;
  try {
    services = servicesFor(env);
    if (services.apiKeys !== undefined) await requireApiKey(request, services.apiKeys);
    const input = await readCheckRequest(request, services.log);
    const nowMs = Date.now();
    const decision = await checkCounted(services, input, (point) => ctx.waitUntil(point), nowMs);
    const body = checkBody(decision);
    const headers = rateLimitHeaders(body, decision.buckets, input.tier.name, nowMs);
    headers["content-type"] = "application/json";
    if (body.allowed) return new Response(JSON.stringify(body), { status: 200, headers });
    return new Response(JSON.stringify(limitedBody(body)), { status: 429, headers });
  } catch (error) {
    return errorResponse(error, services?.log);
  }
}
