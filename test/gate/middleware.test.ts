import { Hono } from "hono";
import { afterEach, describe, expect, it, vi } from "vitest";
import { type GateLimiter, type RateLimitVariables, rateLimit } from "../../src/gate/middleware.ts";
import { bound, ways } from "./limiters.ts";

/**
 * A Worker of the caller's own, gated by `limiter`: `x-user` and `x-tier` stand for the principal
 * its authentication would have verified. `failMode` is open unless told: every answer but a pass
 * below is then the limiter's, not the gate's own fallback.
 */
function gatedApp(limiter: GateLimiter | undefined, failMode: "open" | "closed" = "open") {
  const app = new Hono<{ Variables: RateLimitVariables }>();
  app.use(
    rateLimit({
      limiter: () => limiter as GateLimiter,
      identifier: (c) => c.req.header("x-user") ?? crypto.randomUUID(),
      tier: (c) => c.req.header("x-tier"),
      cost: () => 5,
      failMode,
    }),
  );
  app.get("/", (c) =>
    c.json({ degraded: c.var.rateLimit.degraded, decided: c.var.rateLimit.decision !== undefined }),
  );
  return app;
}

/** The JSON lines the gate wrote at `level` ("error" or "warn") while `run` ran. */
async function linesOf(level: "error" | "warn", run: () => Promise<void>) {
  const spy = vi.spyOn(console, level).mockImplementation(() => {});
  await run();
  return spy.mock.calls.map(([line]) => JSON.parse(line));
}

afterEach(() => {
  vi.restoreAllMocks();
});

describe.each(Object.entries(ways))("the middleware, limiter %s", (_way, limiter) => {
  it("lets an allowed request through with the caller's cost and the rate-limit headers", async () => {
    const response = await gatedApp(limiter.healthy).request("/");
    expect(response.status).toBe(200);
    expect(await response.json()).toEqual({ degraded: false, decided: true });
    expect(response.headers.get("RateLimit-Remaining")).toBe("95");
    expect(response.headers.get("RateLimit-Policy")).toBe('"free";q=100;w=60');
  });

  it("answers input the limiter refuses 422, with its list of issues", async () => {
    const response = await gatedApp(limiter.healthy).request("/", { headers: { "x-user": "x".repeat(300) } });
    expect(response.status).toBe(422);
    expect(await response.json()).toEqual({
      detail: [{ loc: ["body", "identifier"], msg: expect.any(String), type: "string_too_long" }],
    });
  });

  it("answers a tier the limiter does not know 400, with its detail", async () => {
    const response = await gatedApp(limiter.healthy).request("/", { headers: { "x-tier": "gold" } });
    expect(response.status).toBe(400);
    expect(await response.json()).toEqual({ detail: "Invalid tier: gold" });
  });

  it("answers 503 with Retry-After when the limiter's Redis is down under its FAIL_MODE=closed", async () => {
    vi.spyOn(console, "warn").mockImplementation(() => {});
    const response = await gatedApp(limiter.closed).request("/");
    expect(response.status).toBe(503);
    expect(response.headers.get("Retry-After")).toBe("1");
    expect(await response.json()).toEqual({ detail: "Rate limiter unavailable" });
  });

  it("lets the request through marked degraded, with a WARNING, under the limiter's FAIL_MODE=open", async () => {
    let response = new Response();
    const warnings = await linesOf("warn", async () => {
      response = await gatedApp(limiter.open, "closed").request("/");
    });
    expect(response.status).toBe(200);
    expect(await response.json()).toEqual({ degraded: true, decided: true });
    expect(response.headers.has("RateLimit")).toBe(false);
    expect(warnings).toContainEqual(expect.objectContaining({ msg: expect.stringContaining("unchecked") }));
  });

  it("answers 500, with an ERROR line, when the limiter fails inside, though failMode is open", async () => {
    let response = new Response();
    const errors = await linesOf("error", async () => {
      response = await gatedApp(limiter.badEnv, "open").request("/");
    });
    expect(response.status).toBe(500);
    expect(await response.json()).toEqual({ detail: "Internal Server Error" });
    expect(errors).toContainEqual({
      level: "ERROR",
      msg: "rate limiter failed, answered 500",
      kind: "internal",
      problem: expect.stringMatching(/^SettingsError: .*REDIS_TIMEOUT_MS/),
    });
  });
});

describe("the middleware, when it gets no answer from the limiter", () => {
  it("answers by its failMode when the limiter Worker's call fails: 503, or a pass marked degraded", async () => {
    vi.spyOn(console, "warn").mockImplementation(() => {});
    const closed = await gatedApp(bound.LIMITER_BROKEN, "closed").request("/");
    expect(closed.status).toBe(503);
    expect(await closed.json()).toEqual({ detail: "Rate limiter unavailable" });
    const open = await gatedApp(bound.LIMITER_BROKEN, "open").request("/");
    expect(open.status).toBe(200);
    expect(await open.json()).toEqual({ degraded: true, decided: false });
  });

  it("logs a misconfigured binding as an ERROR, and answers by its failMode", async () => {
    // A limiter older than this middleware, which answers a bare decision instead of a result.
    const older = { check: async () => ({ allowed: true, limit: 100 }) } as unknown as GateLimiter;
    const limiters = [undefined, bound.LIMITER_HTTP, older];
    const errors = await linesOf("error", async () => {
      for (const limiter of limiters) {
        const response = await gatedApp(limiter, "open").request("/");
        expect(response.status).toBe(200);
        expect(await response.json()).toEqual({ degraded: true, decided: false });
      }
    });
    expect(errors.map((line) => line.problem)).toEqual([
      expect.stringMatching(/missing or misnamed/),
      expect.stringMatching(/RateLimiter entrypoint/),
      expect.stringMatching(/older than this middleware/),
    ]);
    expect(errors.every((line) => line.level === "ERROR" && line.msg.includes("misconfigured"))).toBe(true);
  });
});
