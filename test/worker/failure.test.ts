import { env } from "cloudflare:workers";
import { afterEach, describe, expect, inject, it, vi } from "vitest";
import { checkRequest, fetchWith, unique } from "./helpers.ts";

const refusing = { UPSTASH_REDIS_REST_URL: inject("refusingUrl") };
const hanging = { UPSTASH_REDIS_REST_URL: inject("hangingUrl") };
const deadline = { REDIS_TIMEOUT_MS: "300" };

/** The JSON log lines written while a test runs. */
function captureLog(): () => Array<Record<string, unknown>> {
  const spy = vi.spyOn(console, "log");
  const spyError = vi.spyOn(console, "error");
  return () =>
    [...spy.mock.calls, ...spyError.mock.calls].map(([line]) => {
      try {
        return JSON.parse(String(line)) as Record<string, unknown>;
      } catch {
        return {};
      }
    });
}

async function timed<T>(run: () => Promise<T>): Promise<[T, number]> {
  const start = performance.now();
  const result = await run();
  return [result, performance.now() - start];
}

describe("when Redis cannot answer", () => {
  it("answers 503 with Retry-After when FAIL_MODE is closed", async () => {
    const response = await fetchWith(
      { ...refusing, ...deadline, FAIL_MODE: "closed" },
      checkRequest({ identifier: unique("closed") }),
    );
    expect(response.status).toBe(503);
    expect(response.headers.get("Retry-After")).toBe("1");
    expect(await response.json()).toEqual({ detail: "Rate limiter unavailable" });
  });

  it("answers a marked 200 when FAIL_MODE is open", async () => {
    const response = await fetchWith(
      { ...refusing, ...deadline, FAIL_MODE: "OPEN" },
      checkRequest({ identifier: unique("open"), tier: "pro" }),
    );
    expect(response.status).toBe(200);
    expect(await response.json()).toEqual({
      allowed: true,
      tokens_remaining: null,
      reset_at: null,
      limit: 1000,
      retry_after: null,
      degraded: true,
    });
    expect(response.headers.has("RateLimit")).toBe(false);
  });

  it("answers within the deadline when Redis hangs, retries included", async () => {
    for (const FAIL_MODE of ["closed", "open"]) {
      const [response, elapsed] = await timed(() =>
        fetchWith(
          { ...hanging, ...deadline, REDIS_RETRIES: "3", FAIL_MODE },
          checkRequest({ identifier: "x" }),
        ),
      );
      expect(response.status).toBe(FAIL_MODE === "closed" ? 503 : 200);
      expect(elapsed).toBeGreaterThanOrEqual(250);
      expect(elapsed).toBeLessThan(1000);
    }
  });

  it("retries a refused connection inside the deadline, then gives up", async () => {
    const [response, elapsed] = await timed(() =>
      fetchWith(
        { ...refusing, REDIS_TIMEOUT_MS: "5000", REDIS_RETRIES: "2" },
        checkRequest({ identifier: "x" }),
      ),
    );
    expect(response.status).toBe(503);
    // Two pauses (20 and 40 ms) between three quick refusals: well under the 5 s deadline.
    expect(elapsed).toBeGreaterThanOrEqual(55);
    expect(elapsed).toBeLessThan(2000);
  });

  it("reports /health as 503 degraded, within the deadline", async () => {
    for (const broken of [refusing, hanging]) {
      const [response, elapsed] = await timed(() =>
        fetchWith({ ...broken, ...deadline }, new Request("http://limiter.test/health")),
      );
      expect(response.status).toBe(503);
      expect(await response.json()).toEqual({ status: "degraded", redis: "disconnected" });
      expect(elapsed).toBeLessThan(1000);
    }
  });

  it.each(["closed", "open"])(
    "answers 500 with an ERROR line, never FAIL_MODE=%s's answer, when the REST endpoint rejects the token",
    async (failMode) => {
      const lines = captureLog();
      const response = await fetchWith(
        { UPSTASH_REDIS_REST_TOKEN: "wrong", ...deadline, FAIL_MODE: failMode, LOG_LEVEL: "ERROR" },
        checkRequest({ identifier: unique("token") }),
      );
      // A wrong token is a deployment to fix, not a Redis that is down: it must not pass requests unchecked.
      expect(response.status).toBe(500);
      expect(await response.json()).toEqual({ detail: "Internal Server Error" });
      expect(lines()).toContainEqual(
        expect.objectContaining({ level: "ERROR", error: expect.stringMatching(/401/) }),
      );
    },
  );
});

describe("an invalid environment", () => {
  it("answers 500 naming the variable, without its value", async () => {
    const response = await fetchWith(
      { FAIL_MODE: "sometimes", REDIS_TIMEOUT_MS: "soon" },
      checkRequest({ identifier: "x" }),
    );
    expect(response.status).toBe(500);
    const { detail } = await response.json<{ detail: string }>();
    expect(detail).toContain("FAIL_MODE");
    expect(detail).toContain("REDIS_TIMEOUT_MS");
    expect(detail).not.toContain("sometimes");
  });

  it("names a missing Redis URL", async () => {
    const response = await fetchWith(
      { UPSTASH_REDIS_REST_URL: "" },
      new Request("http://limiter.test/health"),
    );
    expect(response.status).toBe(500);
    expect(await response.json()).toEqual({
      detail: expect.stringContaining("UPSTASH_REDIS_REST_URL"),
    });
  });
});

describe("logs", () => {
  afterEach(() => {
    vi.restoreAllMocks();
  });

  it("logs every degraded decision at WARNING as one JSON line, without token or identifier", async () => {
    const lines: string[] = [];
    vi.spyOn(console, "warn").mockImplementation((line: string) => void lines.push(line));
    const identifier = unique("logged");
    await fetchWith(
      { ...refusing, ...deadline, FAIL_MODE: "open", LOG_LEVEL: "INFO" },
      checkRequest({ identifier }),
    );
    expect(lines).toHaveLength(1);
    const entry = JSON.parse(lines[0] as string);
    expect(entry).toMatchObject({
      level: "WARNING",
      msg: expect.stringContaining("FAIL_MODE=open"),
      tier: "free",
    });
    expect(lines[0]).not.toContain(identifier);
    expect(lines[0]).not.toContain(env.UPSTASH_REDIS_REST_TOKEN);
  });

  it("drops lines below LOG_LEVEL", async () => {
    const warn = vi.spyOn(console, "warn").mockImplementation(() => {});
    await fetchWith(
      { ...refusing, ...deadline, FAIL_MODE: "open", LOG_LEVEL: "error" },
      checkRequest({ identifier: "x" }),
    );
    expect(warn).not.toHaveBeenCalled();
  });
});
