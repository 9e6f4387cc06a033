import { env } from "cloudflare:workers";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import type { GateLimiter, GateRequest } from "../../src/gate/decide.ts";
import { bodyArb, expectedStatus, uniquePrefixer } from "../check-properties.ts";

const { RATE_LIMITER: limiter, LIMITER_HTTP: http } = env as unknown as {
  RATE_LIMITER: GateLimiter;
  LIMITER_HTTP: Fetcher;
};

/** The detail `POST /check` answers this body with, as the message an RPC error carries. */
async function httpDetail(body: unknown): Promise<string> {
  const response = await http.fetch("http://limiter.test/check", {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify(body),
  });
  const { detail } = await response.json<{ detail: unknown }>();
  return typeof detail === "string" ? detail : JSON.stringify(detail);
}

describe("RateLimiter.check, for any argument", () => {
  it("resolves exactly when the argument is valid, else rejects with a TypeError whose message is HTTP's detail", async () => {
    // Through JSON: fast-check makes some objects without a prototype, which RPC refuses to send
    // (a DataCloneError in the caller, before the limiter sees anything).
    const plain = bodyArb(uniquePrefixer("rpc")).map((body) => JSON.parse(JSON.stringify(body)));
    const argument = fc.oneof(
      { weight: 6, arbitrary: plain },
      { weight: 1, arbitrary: fc.constantFrom(undefined, null, "user-42", 42, [], [{ identifier: "x" }]) },
    );
    await fc.assert(
      fc.asyncProperty(argument, async (request) => {
        const outcome = await limiter.check(request as GateRequest).then(
          (decision) => ({ decision }),
          (error: unknown) => ({ error }),
        );
        if (expectedStatus(request ?? null) === 200) {
          expect(outcome).toEqual({ decision: expect.objectContaining({ allowed: true }) });
          return;
        }
        expect("error" in outcome && outcome.error).toBeInstanceOf(TypeError);
        // Bad input is refused before any bucket is touched, so asking HTTP the same costs nothing.
        const { message } = (outcome as { error: TypeError }).error;
        expect(message).toBe(await httpDetail(request ?? null));
      }),
      { numRuns: 150 },
    );
  }, 60_000);

  it("raises a lone surrogate in the identifier with the detail naming body.identifier", async () => {
    const error = await limiter
      .check({ identifier: `${crypto.randomUUID()}\ud800` })
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(TypeError);
    expect(JSON.parse((error as TypeError).message)).toEqual([
      { loc: ["body", "identifier"], msg: expect.any(String), type: "string_unicode" },
    ]);
  });
});
