import { afterEach, describe, expect, inject, it, vi } from "vitest";
import { checkRequest, fetchWith, unique, watchRedisCalls } from "./helpers.ts";

const keys = { API_KEYS: "key-current, key-next" };

function withAuthorization(
  authorization: string | undefined,
  body: unknown = { identifier: unique("auth") },
) {
  const request = checkRequest(body);
  if (authorization !== undefined) request.headers.set("authorization", authorization);
  return request;
}

afterEach(() => {
  vi.restoreAllMocks();
});

describe("API keys", () => {
  it("answers 401 with WWW-Authenticate when there is no token, before any Redis call", async () => {
    const calls = watchRedisCalls();
    const response = await fetchWith(keys, withAuthorization(undefined));
    expect(response.status).toBe(401);
    expect(response.headers.get("WWW-Authenticate")).toBe("Bearer");
    expect(await response.json()).toEqual({ detail: "Unauthorized" });
    expect(calls).toEqual([]);
  });

  it("answers 401 for a wrong token, a token of another length, and another scheme", async () => {
    const calls = watchRedisCalls();
    for (const authorization of [
      "Bearer key-curren",
      "Bearer key-currenX",
      "Bearer k",
      "Basic key-current",
      "key-current",
    ]) {
      const response = await fetchWith(keys, withAuthorization(authorization));
      expect(response.status, authorization).toBe(401);
    }
    expect(calls).toEqual([]);
  });

  it("checks the key before reading the body: a bad body without a key is still 401", async () => {
    expect((await fetchWith(keys, withAuthorization(undefined, "not json"))).status).toBe(401);
  });

  it("lets a right token through, for every key, so keys can be rotated", async () => {
    for (const key of ["key-current", "key-next"]) {
      const response = await fetchWith(keys, withAuthorization(`Bearer ${key}`));
      expect(response.status, key).toBe(200);
    }
    expect((await fetchWith(keys, withAuthorization("bearer key-next"))).status).toBe(200);
  });

  it("requires nothing when API_KEYS is unset or empty", async () => {
    expect((await fetchWith({}, withAuthorization(undefined))).status).toBe(200);
    expect((await fetchWith({ API_KEYS: "" }, withAuthorization(undefined))).status).toBe(200);
  });

  it("refuses every request, naming API_KEYS, when it is set but holds no key", async () => {
    const errors: string[] = [];
    vi.spyOn(console, "error").mockImplementation((line: string) => void errors.push(line));
    const calls = watchRedisCalls();
    for (const API_KEYS of [" , ", ",", "   "]) {
      const response = await fetchWith({ API_KEYS }, withAuthorization(undefined));
      expect(response.status, JSON.stringify(API_KEYS)).toBe(500);
      expect(await response.json()).toEqual({ detail: expect.stringContaining("API_KEYS") });
    }
    expect(calls).toEqual([]);
    expect(errors).toHaveLength(3);
    expect(JSON.parse(errors[0] as string)).toMatchObject({
      level: "ERROR",
      msg: expect.stringContaining("API_KEYS"),
    });
  });

  it("keeps /health public, saying nothing about keys or backends beyond connected or not", async () => {
    const response = await fetchWith(keys, new Request("http://limiter.test/health"));
    expect(response.status).toBe(200);
    expect(await response.json()).toEqual({ status: "ok", redis: "connected" });
    const down = await fetchWith(
      { ...keys, UPSTASH_REDIS_REST_URL: inject("refusingUrl"), REDIS_TIMEOUT_MS: "200" },
      new Request("http://limiter.test/health"),
    );
    const text = await down.text();
    expect(JSON.parse(text)).toEqual({ status: "degraded", redis: "disconnected" });
    expect(text).not.toMatch(/127\.0\.0\.1|upstash|key/i);
  });
});
