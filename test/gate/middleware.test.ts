import { env } from "cloudflare:workers";
import { Hono } from "hono";
import { afterEach, describe, expect, it, vi } from "vitest";
import { embeddedLimiter } from "../../src/gate/embedded.ts";
import { type GateLimiter, type RateLimitVariables, rateLimit } from "../../src/gate/middleware.ts";

const { LIMITER_BROKEN: broken, LIMITER_HTTP: fetchHandler } = env as unknown as {
  LIMITER_BROKEN: GateLimiter;
  LIMITER_HTTP: GateLimiter; // the limiter's fetch handler, which has no check()
};

/** A Worker of the caller's own, gated by `limiter`. */
function gatedApp(limiter: () => GateLimiter, failMode?: "open" | "closed") {
  const app = new Hono<{ Variables: RateLimitVariables }>();
  app.use(
    rateLimit({ limiter, identifier: (c) => c.req.header("x-user") ?? "anonymous", cost: () => 5, failMode }),
  );
  app.get("/", (c) =>
    c.json({ degraded: c.var.rateLimit.degraded, decided: c.var.rateLimit.decision !== undefined }),
  );
  return app;
}

describe("the middleware", () => {
  afterEach(() => {
    vi.restoreAllMocks();
  });

  it("decides embedded, straight against Redis, with the caller's cost", async () => {
    const app = gatedApp(() => embeddedLimiter(env));
    const response = await app.request("/", { headers: { "x-user": crypto.randomUUID() } });
    expect(response.status).toBe(200);
    expect(await response.json()).toEqual({ degraded: false, decided: true });
    expect(response.headers.get("RateLimit-Remaining")).toBe("95");
  });

  it("lets requests through marked degraded when the limiter fails and failMode is open", async () => {
    vi.spyOn(console, "warn").mockImplementation(() => {});
    const response = await gatedApp(() => broken, "open").request("/");
    expect(response.status).toBe(200);
    expect(await response.json()).toEqual({ degraded: true, decided: false });
  });

  it("answers 503 when the limiter fails and failMode is closed", async () => {
    vi.spyOn(console, "warn").mockImplementation(() => {});
    const response = await gatedApp(() => broken, "closed").request("/");
    expect(response.status).toBe(503);
    expect(await response.json()).toEqual({ detail: "Rate limiter unavailable" });
  });

  it("lets requests through marked degraded on a misconfigured binding when failMode is open", async () => {
    const errors = vi.spyOn(console, "error").mockImplementation(() => {});
    for (const limiter of [undefined as unknown as GateLimiter, fetchHandler]) {
      const response = await gatedApp(() => limiter, "open").request("/");
      expect(response.status).toBe(200);
      expect(await response.json()).toEqual({ degraded: true, decided: false });
    }
    expect(errors).toHaveBeenCalledTimes(2);
    for (const [line] of errors.mock.calls) {
      expect(JSON.parse(line)).toMatchObject({
        level: "ERROR",
        msg: expect.stringContaining("misconfigured"),
      });
    }
  });
});
