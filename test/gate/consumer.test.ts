import { createExecutionContext, waitOnExecutionContext } from "cloudflare:test";
import { env, exports } from "cloudflare:workers";
import { afterEach, describe, expect, it, vi } from "vitest";
import consumer, { type Bindings, type Customer } from "../../examples/consumer/src/index.ts";
import type { GateLimiter, GateRequest } from "../../src/gate/middleware.ts";
import { bound } from "./limiters.ts";

const testEnv = env as unknown as Bindings;

afterEach(() => {
  vi.restoreAllMocks();
});

const unique = (label: string) => `${label}-${crypto.randomUUID()}`;

/** A new customer on `plan`, in the consumer's own records; returns its API key and id. */
async function customer(plan: string, id = unique("customer")) {
  const key = unique("key");
  await testEnv.CUSTOMERS.put(key, JSON.stringify({ id, plan } satisfies Customer));
  return { key, id };
}

const hello = (headers: Record<string, string>) =>
  exports.default.fetch("http://consumer.test/api/hello", { headers });

/** The consumer with its RATE_LIMITER binding pointed at another limiter (or at nothing). */
async function helloVia(
  limiter: GateLimiter | undefined,
  headers: Record<string, string>,
  path = "/api/hello",
) {
  const ctx = createExecutionContext();
  const response = await consumer.fetch(
    new Request(`http://consumer.test${path}`, { headers }),
    { ...testEnv, RATE_LIMITER: limiter },
    ctx,
  );
  await waitOnExecutionContext(ctx);
  return response;
}

describe("the example consumer, gated through its service binding", () => {
  it("lets an allowed request through with the rate-limit headers set", async () => {
    const { key } = await customer("free");
    const response = await hello({ "x-api-key": key });
    expect(response.status).toBe(200);
    expect(await response.json()).toEqual({ hello: "world", degraded: false });
    expect(response.headers.get("RateLimit-Policy")).toBe('"free";q=100;w=60');
    expect(response.headers.get("RateLimit")).toBe('"free";r=99;t=1');
    expect(response.headers.get("RateLimit-Remaining")).toBe("99");
  });

  it("lets a shadow tier's would-be denial through, with what the limiter would have said", async () => {
    const { key } = await customer("trial");
    // trial: 10 a minute, shadow mode. An enforcing tier would answer the 11th with 429.
    const statuses: number[] = [];
    let remaining: string | null = null;
    for (let i = 0; i < 11; i++) {
      const response = await hello({ "x-api-key": key });
      statuses.push(response.status);
      remaining = response.headers.get("RateLimit-Remaining");
      await response.text();
    }
    expect(statuses).toEqual(Array(11).fill(200));
    expect(remaining).toBe("0");
    const result = await testEnv.RATE_LIMITER.check({ identifier: unique("probe"), tier: "trial" });
    expect(result).toMatchObject({ ok: true, decision: { shadow: true, would_allow: true } });
  });

  it("charges the tier of the customer's plan", async () => {
    const { key } = await customer("pro");
    const response = await hello({ "x-api-key": key });
    expect(response.headers.get("RateLimit-Policy")).toBe('"pro";q=1000;w=60');
    expect(response.headers.get("RateLimit-Remaining")).toBe("999");
  });

  it("refuses a missing or made-up API key with 401, before any limiter call", async () => {
    const asked: GateRequest[] = [];
    const watched: GateLimiter = {
      check: (request) => {
        asked.push(request);
        return testEnv.RATE_LIMITER.check(request);
      },
    };
    const refused: Record<string, string>[] = [{}, { "x-api-key": unique("made-up") }, { "x-api-key": "" }];
    for (const headers of refused) {
      const response = await helloVia(watched, headers);
      expect(response.status).toBe(401);
      expect(await response.json()).toEqual({ detail: "Unauthorized" });
      expect(response.headers.has("RateLimit")).toBe(false);
    }
    expect(asked).toEqual([]);
  });

  it("limits a free customer at the free limit whatever x-plan says", async () => {
    const { key, id } = await customer("free");
    const response = await hello({ "x-api-key": key, "x-plan": "enterprise" });
    expect(response.headers.get("RateLimit-Policy")).toBe('"free";q=100;w=60');
    await testEnv.RATE_LIMITER.check({ identifier: id, cost: 99 });
    const spent = await hello({ "x-api-key": key, "x-plan": "enterprise" });
    expect(spent.status).toBe(429);
  });

  it("charges one bucket per customer, across all of its keys", async () => {
    const first = await customer("free");
    const second = await customer("free", first.id);
    await hello({ "x-api-key": first.key });
    const response = await hello({ "x-api-key": second.key });
    expect(response.headers.get("RateLimit-Remaining")).toBe("98");
  });

  it("answers 429 itself, with headers, once the customer's bucket is spent", async () => {
    const { key, id } = await customer("free");
    await testEnv.RATE_LIMITER.check({ identifier: id, cost: 100 });
    const response = await hello({ "x-api-key": key });
    expect(response.status).toBe(429);
    const body = await response.json<{ detail: { retry_after: number } }>();
    expect(body.detail).toMatchObject({ allowed: false, limit: 100 });
    expect(response.headers.get("Retry-After")).toBe(String(body.detail.retry_after));
    expect(response.headers.get("RateLimit-Remaining")).toBe("0");
  });

  it("answers a plan the limiter does not know with 400 and the limiter's detail", async () => {
    const { key } = await customer("gold");
    const response = await hello({ "x-api-key": key });
    expect(response.status).toBe(400);
    expect(await response.json()).toEqual({ detail: "Invalid tier: gold" });
  });

  it("answers a customer record the limiter refuses (an empty id) with 422 and the limiter's issues", async () => {
    const { key } = await customer("free", "");
    const response = await hello({ "x-api-key": key });
    expect(response.status).toBe(422);
    expect(await response.json()).toEqual({
      detail: [{ loc: ["body", "identifier"], msg: expect.any(String), type: "string_too_short" }],
    });
  });

  it("leaves routes outside the gate alone", async () => {
    const response = await exports.default.fetch("http://consumer.test/");
    expect(response.status).toBe(200);
    expect(response.headers.has("RateLimit")).toBe(false);
  });
});

describe("a misconfigured RATE_LIMITER binding", () => {
  it("is answered by the gate's failMode (503), with an ERROR line naming it, not a 400", async () => {
    const lines: string[] = [];
    vi.spyOn(console, "error").mockImplementation((line: string) => void lines.push(line));
    const { key } = await customer("free");
    // Missing (or misnamed: the same undefined), then bound to the limiter's fetch handler, not its entrypoint.
    for (const limiter of [undefined, bound.LIMITER_HTTP]) {
      const response = await helloVia(limiter, { "x-api-key": key });
      expect(response.status).toBe(503);
      expect(await response.json()).toEqual({ detail: "Rate limiter unavailable" });
    }
    const [missing, wrongEntrypoint] = lines.map((line) => JSON.parse(line));
    expect(lines).toHaveLength(2);
    expect(missing).toMatchObject({ level: "ERROR", msg: expect.stringContaining("misconfigured") });
    expect(missing.problem).toMatch(/missing or misnamed/);
    expect(wrongEntrypoint.problem).toMatch(/RateLimiter entrypoint/);
  });
});

describe("when the limiter's Redis is down", () => {
  it("answers 503 with Retry-After when the limiter's FAIL_MODE is closed", async () => {
    const response = await helloVia(bound.LIMITER_REDIS_DOWN_CLOSED, {
      "x-api-key": (await customer("free")).key,
    });
    expect(response.status).toBe(503);
    expect(response.headers.get("Retry-After")).toBe("1");
    expect(await response.json()).toEqual({ detail: "Rate limiter unavailable" });
  });

  it("lets the request through marked degraded when the limiter's FAIL_MODE is open", async () => {
    vi.spyOn(console, "warn").mockImplementation(() => {});
    const response = await helloVia(bound.LIMITER_REDIS_DOWN_OPEN, {
      "x-api-key": (await customer("free")).key,
    });
    expect(response.status).toBe(200);
    expect(await response.json()).toEqual({ hello: "world", degraded: true });
    expect(response.headers.has("RateLimit")).toBe(false);
  });

  it("answers 503 when the limiter itself fails and the gate's failMode is closed (the default)", async () => {
    vi.spyOn(console, "warn").mockImplementation(() => {});
    const response = await helloVia(bound.LIMITER_BROKEN, { "x-api-key": (await customer("free")).key });
    expect(response.status).toBe(503);
  });
});

describe("when the limiter fails inside", () => {
  it("answers 500 with an ERROR line, never a pass", async () => {
    const errors = vi.spyOn(console, "error").mockImplementation(() => {});
    const response = await helloVia(bound.LIMITER_BAD_ENV, { "x-api-key": (await customer("free")).key });
    expect(response.status).toBe(500);
    expect(await response.json()).toEqual({ detail: "Internal Server Error" });
    expect(JSON.parse(errors.mock.calls[0]?.[0])).toMatchObject({ level: "ERROR", kind: "internal" });
  });
});

describe("the consumer's /quota, which calls the binding itself", () => {
  it("reports what is left of the plan without spending any", async () => {
    const { key } = await customer("pro");
    await hello({ "x-api-key": key });
    for (let i = 0; i < 2; i++) {
      const response = await exports.default.fetch("http://consumer.test/quota", {
        headers: { "x-api-key": key },
      });
      expect(response.status).toBe(200);
      expect(await response.json()).toEqual({
        plan: "pro",
        limit: 1000,
        remaining: 999,
        full_at: expect.any(Number),
      });
    }
  });

  it("tells an unavailable limiter (503) from one that cannot answer this customer (500)", async () => {
    vi.spyOn(console, "warn").mockImplementation(() => {});
    const errors = vi.spyOn(console, "error").mockImplementation(() => {});
    const down = await helloVia(
      bound.LIMITER_REDIS_DOWN_CLOSED,
      { "x-api-key": (await customer("free")).key },
      "/quota",
    );
    expect(down.status).toBe(503);
    const gold = await helloVia(
      testEnv.RATE_LIMITER,
      { "x-api-key": (await customer("gold")).key },
      "/quota",
    );
    expect(gold.status).toBe(500);
    expect(JSON.parse(errors.mock.calls[0]?.[0])).toMatchObject({
      msg: "quota check failed",
      kind: "unknown-tier",
    });
  });
});
