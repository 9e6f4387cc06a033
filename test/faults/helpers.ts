/**
 * What the fault tests share: a fresh limiter per test (a fresh `env` object), its answers, and what
 * they should look like. The proxy's controls are in ./proxy.ts, Redis read directly in ./bucket.ts.
 */
import { createExecutionContext, waitOnExecutionContext } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { expect, inject } from "vitest";
import worker from "../../src/index.ts";

const proxyUrl = inject("faultProxyUrl");
const restToken = inject("faultRestToken");

export const FAIL_MODES = ["closed", "open"] as const;
export type FailMode = (typeof FAIL_MODES)[number];

/** REDIS_TIMEOUT_MS of every limiter here. */
export const DEADLINE_MS = 500;
/** How late past the deadline an answer may come: generous, as the machine is shared. */
export const DEADLINE_MARGIN_MS = 250;
/** The `free` tier of config.yaml, which the tests use. */
export const FREE = { name: "free", limit: 100, windowMs: 60_000 } as const;

/** A name no other test uses, so each test owns its buckets whatever the order. */
export const unique = (label: string) => `${label}-${crypto.randomUUID()}`;

/** A fresh `env` object, so a fresh limiter (breaker, deny cache) talking to Redis through the proxy. */
export function limiterEnv(failMode: FailMode, vars: Record<string, string> = {}): Env {
  return {
    ...env,
    UPSTASH_REDIS_REST_URL: proxyUrl,
    UPSTASH_REDIS_REST_TOKEN: restToken,
    FAIL_MODE: failMode,
    REDIS_TIMEOUT_MS: String(DEADLINE_MS),
    REDIS_RETRIES: "3",
    ...vars,
  } as Env;
}

/** An answer of the Worker, and how long it took to arrive (not counting its waitUntil work). */
export interface Answer {
  status: number;
  headers: Headers;
  body: Record<string, unknown>;
  ms: number;
}

async function call(limiter: Env, request: Request): Promise<Answer> {
  const ctx = createExecutionContext();
  const started = performance.now();
  const response = await worker.fetch(request, limiter, ctx);
  const body = await response.json<Record<string, unknown>>();
  const ms = performance.now() - started;
  await waitOnExecutionContext(ctx);
  return { status: response.status, headers: response.headers, body, ms };
}

/** `POST /check` on the limiter of `limiter`. */
export function check(limiter: Env, input: { identifier: string; tier?: string; cost?: number }) {
  return call(
    limiter,
    new Request("http://limiter.test/check", {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify(input),
    }),
  );
}

/** `GET /health` on the limiter of `limiter`. */
export const health = (limiter: Env) => call(limiter, new Request("http://limiter.test/health"));

/**
 * One healthy decision on a throwaway bucket, so Redis holds the script: the calls a test counts are then
 * EVALSHAs that run it, not a NOSCRIPT and its EVAL.
 */
export async function warmUp(limiter: Env): Promise<void> {
  expectAdmitted(await check(limiter, { identifier: unique("warm-up") }));
}

/** Asserts the answer FAIL_MODE gives when Redis cannot decide. */
export function expectFailModeAnswer(answer: Answer, failMode: FailMode): void {
  if (failMode === "closed") {
    expect(answer.status).toBe(503);
    expect(answer.body).toEqual({ detail: "Rate limiter unavailable" });
    expect(answer.headers.get("Retry-After")).toMatch(/^\d+$/);
  } else {
    expect(answer.status).toBe(200);
    expect(answer.body).toMatchObject({
      allowed: true,
      tokens_remaining: null,
      reset_at: null,
      degraded: true,
    });
  }
}

/** Asserts the answer to a failure that is not Redis being down (a bug, a 4xx): a 500, never FAIL_MODE's. */
export function expectServerError(answer: Answer): void {
  expect(answer.status).toBe(500);
  expect(answer.body).toEqual({ detail: "Internal Server Error" });
}

/** Asserts a decision Redis made: admitted, not degraded. */
export function expectAdmitted(answer: Answer): void {
  expect(answer.status).toBe(200);
  expect(answer.body).toMatchObject({ allowed: true, tokens_remaining: expect.any(Number) });
  expect(answer.body.degraded ?? false).toBe(false);
}

/**
 * Polls /health every 100 ms for up to 5 s (the breaker cools down in about 1 s) and resolves with
 * whether it answered 200: recovery with no restart.
 */
export async function recovers(limiter: Env): Promise<boolean> {
  const until = Date.now() + 5000;
  while (Date.now() < until) {
    if ((await health(limiter)).status === 200) return true;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  return false;
}
