import { afterEach, describe, expect, it, vi } from "vitest";
import type { GateDecision, GateResult } from "../../src/gate/middleware.ts";
import { bound, ways } from "./limiters.ts";

const unique = (label: string) => `${label}-${crypto.randomUUID()}`;

/** The `detail` and status `POST /check` answers this body with. */
async function httpAnswer(body: object) {
  const response = await bound.LIMITER_HTTP.fetch("http://limiter.test/check", {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify(body),
  });
  return { status: response.status, detail: (await response.json<{ detail: unknown }>()).detail };
}

/** The decision of a result that must have one. */
function decisionOf(result: GateResult): GateDecision {
  if (!result.ok) throw new Error(`expected a decision, got ${JSON.stringify(result.error)}`);
  return result.decision;
}

afterEach(() => {
  vi.restoreAllMocks();
});

describe.each(Object.entries(ways))("check() %s", (way, limiter) => {
  it("returns the decision, with the tier and window it was made on", async () => {
    const decision = decisionOf(
      await limiter.healthy.check({ identifier: unique("ok"), tier: "pro", cost: 10 }),
    );
    expect(decision).toMatchObject({ allowed: true, tokens_remaining: 990, limit: 1000, retry_after: null });
    expect(decision).toMatchObject({ tier: "pro", window: 60 });
    expect(decision.policies).toEqual([
      { limit: 1000, window: 60, remaining: 990, resetAt: decision.reset_at },
    ]);
    expect(decision.reset_at).toBeGreaterThan(Date.now() / 1000);
  });

  it("returns the documented fields only, not what the limiter keeps for itself", async () => {
    const identifier = unique("spent");
    await limiter.healthy.check({ identifier, cost: 100 });
    // Denials of a bucket the isolate knows to be empty: decided by the isolate, which RPC never says.
    for (let i = 0; i < 2; i++) {
      const decision = decisionOf(await limiter.healthy.check({ identifier }));
      expect(decision.allowed).toBe(false);
      expect(Object.keys(decision).sort()).toEqual(
        [
          "allowed",
          "limit",
          "policies",
          "reset_at",
          "retry_after",
          "tier",
          "tokens_remaining",
          "window",
        ].sort(),
      );
    }
  });

  it("returns invalid input as kind invalid, with the issues POST /check answers 422 with", async () => {
    const body = { identifier: "x".repeat(300), cost: -1 };
    const http = await httpAnswer(body);
    expect(http.status).toBe(422);
    expect(await limiter.healthy.check(body)).toEqual({
      ok: false,
      error: { kind: "invalid", detail: http.detail },
    });
    expect(http.detail).toHaveLength(2);
  });

  it("returns an unknown tier as kind unknown-tier, with POST /check's 400 detail", async () => {
    expect(await limiter.healthy.check({ identifier: unique("gold"), tier: "gold" })).toEqual({
      ok: false,
      error: { kind: "unknown-tier", detail: "Invalid tier: gold" },
    });
    expect(await httpAnswer({ identifier: "x", tier: "gold" })).toEqual({
      status: 400,
      detail: "Invalid tier: gold",
    });
  });

  it("returns kind unavailable when Redis is down and FAIL_MODE is closed", async () => {
    vi.spyOn(console, "warn").mockImplementation(() => {});
    expect(await limiter.closed.check({ identifier: unique("down") })).toEqual({
      ok: false,
      error: { kind: "unavailable", detail: "Rate limiter unavailable" },
    });
  });

  it("returns a decision marked degraded when Redis is down and FAIL_MODE is open", async () => {
    vi.spyOn(console, "warn").mockImplementation(() => {});
    const decision = decisionOf(await limiter.open.check({ identifier: unique("down") }));
    expect(decision).toEqual({
      allowed: true,
      tokens_remaining: null,
      reset_at: null,
      limit: 100,
      retry_after: null,
      degraded: true,
      tier: "free",
      window: 60,
    });
  });

  it("returns kind internal, never a decision, when the limiter fails inside, whatever its FAIL_MODE", async () => {
    const errors = vi.spyOn(console, "error").mockImplementation(() => {});
    expect(await limiter.badEnv.check({ identifier: unique("bug") })).toEqual({
      ok: false,
      error: { kind: "internal", detail: expect.stringMatching(/^SettingsError: .*REDIS_TIMEOUT_MS/) },
    });
    // Logged where it failed: here when embedded, in the limiter Worker's own log over RPC.
    if (way === "embedded") {
      expect(JSON.parse(errors.mock.calls[0]?.[0])).toMatchObject({
        level: "ERROR",
        msg: "gate check failed",
      });
    }
  });
});
