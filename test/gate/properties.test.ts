import { env } from "cloudflare:workers";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import type { GateLimiter, GateRequest } from "../../src/gate/middleware.ts";
import { bodyArb, expectedStatus, uniquePrefixer } from "../check-properties.ts";

const { RATE_LIMITER: limiter, LIMITER_HTTP: http } = env as unknown as {
  RATE_LIMITER: GateLimiter;
  LIMITER_HTTP: Fetcher;
};

/** The status and detail `POST /check` answers this body with. */
async function httpAnswer(body: unknown) {
  const response = await http.fetch("http://limiter.test/check", {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify(body),
  });
  return { status: response.status, detail: (await response.json<{ detail: unknown }>()).detail };
}

/** The kind of error a gate gets for what `POST /check` answers with this status. */
const kindOfStatus = { 400: "unknown-tier", 422: "invalid" } as const;

describe("RateLimiter.check, for any argument", () => {
  it("decides exactly when the argument is valid, else answers HTTP's detail under the kind of HTTP's status", async () => {
    // Through JSON: fast-check makes some objects without a prototype, which RPC refuses to send
    // (a DataCloneError in the caller, before the limiter sees anything).
    const plain = bodyArb(uniquePrefixer("rpc")).map((body) => JSON.parse(JSON.stringify(body)));
    const argument = fc.oneof(
      { weight: 6, arbitrary: plain },
      { weight: 1, arbitrary: fc.constantFrom(undefined, null, "user-42", 42, [], [{ identifier: "x" }]) },
    );
    await fc.assert(
      fc.asyncProperty(argument, async (request) => {
        const result = await limiter.check(request as GateRequest);
        const expected = expectedStatus(request ?? null);
        if (expected === 200) {
          expect(result).toEqual({ ok: true, decision: expect.objectContaining({ allowed: true }) });
          return;
        }
        // Bad input is refused before any bucket is touched, so asking HTTP the same costs nothing.
        const { status, detail } = await httpAnswer(request ?? null);
        expect(status).toBe(expected);
        expect(result).toEqual({ ok: false, error: { kind: kindOfStatus[expected], detail } });
      }),
      { numRuns: 150 },
    );
  }, 60_000);

  it("refuses a lone surrogate in the identifier with an issue naming body.identifier", async () => {
    const result = await limiter.check({ identifier: `${crypto.randomUUID()}\ud800` });
    expect(result).toEqual({
      ok: false,
      error: {
        kind: "invalid",
        detail: [{ loc: ["body", "identifier"], msg: expect.any(String), type: "string_unicode" }],
      },
    });
  });
});
