import { createExecutionContext, waitOnExecutionContext } from "cloudflare:test";
import { env, exports } from "cloudflare:workers";
import { Redis } from "@upstash/redis/cloudflare";
import { vi } from "vitest";
import worker from "../../src/index.ts";

/** A name no other test uses, so each test owns its buckets whatever the order. */
export const unique = (label: string) => `${label}-${crypto.randomUUID()}`;

/** `POST /check` on the Worker as deployed (its default export, with the test environment). */
export function postCheck(body: unknown, headers: Record<string, string> = {}): Promise<Response> {
  return exports.default.fetch("http://limiter.test/check", {
    method: "POST",
    headers: { "content-type": "application/json", ...headers },
    body: typeof body === "string" ? body : JSON.stringify(body),
  });
}

/** The Worker with some variables changed, e.g. pointed at a Redis that is down. */
export async function fetchWith(
  vars: Partial<Record<keyof Env | "API_KEYS" | "ADMIN_API_KEYS", unknown>>,
  request: Request,
) {
  const ctx = createExecutionContext();
  // Deliberately any values, wrong ones included: the Worker must cope with what it is given.
  const response = await worker.fetch(request, { ...env, ...vars } as Env, ctx);
  await waitOnExecutionContext(ctx);
  return response;
}

export const checkRequest = (body: unknown) =>
  new Request("http://limiter.test/check", {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify(body),
  });

/** A plain client on the same Redis, to look at what the Worker wrote. */
export const redis = () =>
  new Redis({ url: env.UPSTASH_REDIS_REST_URL, token: env.UPSTASH_REDIS_REST_TOKEN, enableTelemetry: false });

/**
 * Records (without changing) every request the Worker sends out, as the Redis command in its
 * body, or `PIPELINE` and the commands of a pipeline: the Worker talks to nothing but the Redis
 * REST endpoint.
 */
export function watchRedisCalls(): string[] {
  const commands: string[] = [];
  const realFetch = globalThis.fetch;
  vi.spyOn(globalThis, "fetch").mockImplementation((input, init) => {
    const body = typeof init?.body === "string" ? JSON.parse(init.body) : [];
    const name = (command: unknown[]) => String(command[0]).toUpperCase();
    commands.push(Array.isArray(body[0]) ? `PIPELINE ${body.map(name).join(" ")}` : name(body));
    return realFetch(input, init);
  });
  return commands;
}
