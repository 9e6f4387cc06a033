import { afterEach, describe, expect, inject, it, vi } from "vitest";
import { checkRequest, fetchWith, redis, unique } from "./helpers.ts";

const ADMIN = { ADMIN_API_KEYS: "admin-one,admin-two", API_KEYS: "client-key" };

/** An admin API call with the second admin key, unless told otherwise. */
function admin(method: string, path: string, body?: unknown, key = "admin-two", vars = {}) {
  return fetchWith(
    { ...ADMIN, ...vars },
    new Request(`http://limiter.test/admin${path}`, {
      method,
      headers: { authorization: `Bearer ${key}`, "content-type": "application/json" },
      body: body === undefined ? undefined : JSON.stringify(body),
    }),
  );
}

const check = (body: object) =>
  fetchWith(ADMIN, new Request(checkRequest(body), { headers: { authorization: "Bearer client-key" } }));

afterEach(() => vi.restoreAllMocks());

describe("the admin API", () => {
  it("does not exist when ADMIN_API_KEYS is not set", async () => {
    const response = await fetchWith({}, new Request("http://limiter.test/admin/overrides"));
    expect(response.status).toBe(404);
    expect(await response.json()).toEqual({ detail: "Not Found" });
  });

  it("takes only its own keys: not an API key, not a wrong one", async () => {
    for (const key of ["client-key", "wrong", ""]) {
      const response = await admin("GET", "/overrides", undefined, key);
      expect(response.status).toBe(401);
      expect(response.headers.get("WWW-Authenticate")).toBe("Bearer");
    }
  });

  it("refuses admin keys that are also API keys: a 500 naming ADMIN_API_KEYS", async () => {
    const response = await fetchWith(
      { ADMIN_API_KEYS: "shared", API_KEYS: "shared" },
      new Request("http://limiter.test/admin/overrides"),
    );
    expect(response.status).toBe(500);
    expect(JSON.stringify(await response.json())).toContain(
      "ADMIN_API_KEYS must not share a key with API_KEYS",
    );
  });

  it("changes the very next decision that reaches Redis with an override, starting its buckets afresh", async () => {
    const identifier = unique("vip");
    expect(await (await check({ identifier, cost: 100 })).json()).toMatchObject({
      limit: 100,
      tokens_remaining: 0,
    });
    const set = await admin("PUT", `/overrides/free/${identifier}`, {
      limits: [{ limit: 5000, window: 60 }],
    });
    expect(set.status).toBe(200);
    expect(await set.json()).toEqual({
      tier: "free",
      identifier,
      override: { limits: [{ limit: 5000, window: 60 }] },
    });
    const next = await check({ identifier, cost: 100 });
    expect(next.status).toBe(200);
    expect(await next.json()).toMatchObject({ allowed: true, limit: 5000 });
  });

  it("sets several limits, an exemption, reads, lists and deletes overrides", async () => {
    const identifier = unique("partner/with:odd chars");
    const path = `/overrides/free/${encodeURIComponent(identifier)}`;
    await admin("PUT", path, {
      limits: [
        { limit: 2, window: 1 },
        { limit: 50, window: 60 },
      ],
    });
    const limited = await check({ identifier, cost: 2 });
    expect(limited.headers.get("RateLimit-Policy")).toBe('"free-1s";q=2;w=1, "free-60s";q=50;w=60');

    await admin("PUT", path, { exempt: true });
    for (let i = 0; i < 3; i++) {
      expect(await (await check({ identifier, cost: 100 })).json()).toMatchObject({
        allowed: true,
        exempt: true,
      });
    }
    expect(await (await admin("GET", path)).json()).toEqual({
      tier: "free",
      identifier,
      override: { exempt: true },
    });
    const listed = await (await admin("GET", "/overrides")).json<{ overrides: unknown[] }>();
    expect(listed.overrides).toContainEqual({ tier: "free", identifier, override: { exempt: true } });

    expect((await admin("DELETE", path)).status).toBe(204);
    expect((await admin("GET", path)).status).toBe(404);
    expect((await admin("DELETE", path)).status).toBe(404);
    expect(await (await check({ identifier, cost: 100 })).json()).toMatchObject({ limit: 100 });
    // Without its override the bucket expires again like any other.
    expect(await redis().pttl(`ratelimit:free:${identifier}`)).toBeGreaterThan(0);
    expect((await admin("PUT", path, { exempt: true })).status).toBe(200);
    expect(await redis().pttl(`ratelimit:free:${identifier}`)).toBe(-1);
  });

  it("reads a bucket's state and resets it, keeping its override", async () => {
    const identifier = unique("bucket");
    await check({ identifier, cost: 40 });
    const state = await (await admin("GET", `/buckets/free/${identifier}`)).json<Record<string, unknown>>();
    expect(state).toMatchObject({ tier: "free", identifier, override: null });
    expect(state.buckets).toEqual([
      expect.objectContaining({ limit: 100, window: 60, tokens_remaining: 60 }),
    ]);

    await admin("PUT", `/overrides/free/${identifier}`, { limits: [{ limit: 10, window: 60 }] });
    expect((await admin("DELETE", `/buckets/free/${identifier}`)).status).toBe(204);
    const reset = await (await admin("GET", `/buckets/free/${identifier}`)).json<Record<string, unknown>>();
    expect(reset).toMatchObject({ override: { limits: [{ limit: 10, window: 60 }] }, updated_at: null });
    expect(reset.buckets).toEqual([expect.objectContaining({ limit: 10, tokens_remaining: 10 })]);
  });

  it("lists, reads and deletes an override left on a tier config.yaml no longer has, by its name", async () => {
    const identifier = unique("left-behind");
    const path = `/overrides/retired/${identifier}`;
    // What setting it wrote while config.yaml had a `retired` tier (SET_OVERRIDE, overrides.ts).
    const key = `ratelimit:retired:${identifier}`;
    await redis().hset(key, { override: "exempt" });
    await redis().hset("ratelimit:overrides", { [`retired:${identifier}`]: "exempt" });

    const listed = await (await admin("GET", "/overrides")).json<{ overrides: unknown[] }>();
    expect(listed.overrides).toContainEqual({ tier: "retired", identifier, override: { exempt: true } });
    const read = await admin("GET", path);
    expect(read.status).toBe(200);
    expect(await read.json()).toEqual({ tier: "retired", identifier, override: { exempt: true } });

    expect((await admin("DELETE", path)).status).toBe(204);
    expect(await redis().exists(key)).toBe(0);
    expect(await redis().hexists("ratelimit:overrides", `retired:${identifier}`)).toBe(0);
    expect((await admin("GET", path)).status).toBe(404);
    expect((await admin("DELETE", path)).status).toBe(404);
    // A new one on that tier is refused all the same: no request can be decided on it.
    const set = await admin("PUT", path, { exempt: true });
    expect(set.status).toBe(400);
    expect(await set.json()).toEqual({ detail: "Invalid tier: retired" });
  });

  it("refuses a tier name no tier could have, which could name another tier's key", async () => {
    // `free:x` + `y` is the field and key of identifier `x:y` on tier `free`.
    for (const method of ["GET", "DELETE"]) {
      const response = await admin(method, "/overrides/free:x/y");
      expect(response.status).toBe(400);
      expect(await response.json()).toEqual({ detail: "Invalid tier: free:x" });
    }
  });

  it("answers bad input like /check: 400 for an unknown tier, 422 for a bad body or identifier", async () => {
    const gold = await admin("PUT", "/overrides/gold/x", { exempt: true });
    expect(gold.status).toBe(400);
    expect(await gold.json()).toEqual({ detail: "Invalid tier: gold" });
    for (const body of [
      {},
      { limits: [] },
      { limits: [{ limit: 0, window: 60 }] },
      { exempt: false },
      "nope",
    ]) {
      const response = await admin("PUT", "/overrides/free/x", body);
      expect(response.status).toBe(422);
      expect((await response.json<{ detail: Array<{ loc: unknown[] }> }>()).detail[0]?.loc[0]).toBe("body");
    }
    const duplicate = await admin("PUT", "/overrides/free/x", {
      limits: [
        { limit: 1, window: 60 },
        { limit: 2, window: 60 },
      ],
    });
    expect(duplicate.status).toBe(422);
    const control = await admin("GET", `/overrides/free/${encodeURIComponent("a\u0001b")}`);
    expect(control.status).toBe(422);
    expect((await control.json<{ detail: Array<{ loc: unknown[] }> }>()).detail[0]?.loc).toEqual([
      "path",
      "identifier",
    ]);
  });

  it("logs every change with the admin key's index, never the key or the identifier", async () => {
    const lines: string[] = [];
    vi.spyOn(console, "log").mockImplementation((line: string) => lines.push(line));
    const identifier = unique("audited");
    await fetchWith(
      { ...ADMIN, LOG_LEVEL: "INFO" },
      new Request(`http://limiter.test/admin/overrides/free/${identifier}`, {
        method: "PUT",
        headers: { authorization: "Bearer admin-two", "content-type": "application/json" },
        body: JSON.stringify({ exempt: true }),
      }),
    );
    const audit = lines.map((line) => JSON.parse(line)).find((entry) => entry.msg === "admin: override set");
    expect(audit).toEqual({ level: "INFO", msg: "admin: override set", tier: "free", admin_key: 1 });
    expect(lines.join("\n")).not.toContain("admin-two");
    expect(lines.join("\n")).not.toContain(identifier);
  });
});

describe("the admin API when Redis cannot answer", () => {
  const refusing = { UPSTASH_REDIS_REST_URL: inject("refusingUrl"), REDIS_TIMEOUT_MS: "300" };
  const hanging = { UPSTASH_REDIS_REST_URL: inject("hangingUrl"), REDIS_TIMEOUT_MS: "300" };
  const calls: Array<[string, string, unknown?]> = [
    ["GET", "/overrides"],
    ["PUT", "/overrides/free/down", { exempt: true }],
    ["GET", "/overrides/free/down"],
    ["DELETE", "/overrides/free/down"],
    ["GET", "/buckets/free/down"],
    ["DELETE", "/buckets/free/down"],
  ];

  it("answers 503 with Retry-After, as /check does, on every route", async () => {
    for (const [method, path, body] of calls) {
      const response = await admin(method, path, body, "admin-two", refusing);
      expect(response.status, `${method} ${path}`).toBe(503);
      expect(response.headers.get("Retry-After")).toBe("1");
      expect(await response.json()).toEqual({ detail: "Rate limiter unavailable" });
    }
  });

  it("answers 503 within the deadline when Redis hangs", async () => {
    const start = performance.now();
    const response = await admin("GET", "/overrides", undefined, "admin-two", hanging);
    expect(performance.now() - start).toBeLessThan(1000);
    expect(response.status).toBe(503);
    expect(response.headers.get("Retry-After")).toBe("1");
  });

  it("logs the outage at WARNING, not as an unhandled error", async () => {
    const warnings: string[] = [];
    const errors: string[] = [];
    vi.spyOn(console, "warn").mockImplementation((line: string) => void warnings.push(line));
    vi.spyOn(console, "error").mockImplementation((line: string) => void errors.push(line));
    const logged = { ...refusing, LOG_LEVEL: "INFO" };
    expect((await admin("GET", "/overrides", undefined, "admin-two", logged)).status).toBe(503);
    expect(errors).toEqual([]);
    expect(warnings.map((line) => JSON.parse(line))).toEqual([
      expect.objectContaining({ level: "WARNING", msg: expect.stringContaining("redis unavailable") }),
    ]);
  });

  it("still answers a Redis error that is no outage (a key of the wrong type) with a logged 500", async () => {
    const lines: string[] = [];
    vi.spyOn(console, "error").mockImplementation((line: string) => void lines.push(line));
    const identifier = unique("wrong-type");
    await redis().set(`ratelimit:free:${identifier}`, "not a hash", { ex: 60 });
    const response = await admin("GET", `/overrides/free/${identifier}`);
    expect(response.status).toBe(500);
    expect(await response.json()).toEqual({ detail: "Internal Server Error" });
    expect(lines.map((line) => JSON.parse(line))).toContainEqual(
      expect.objectContaining({ level: "ERROR", msg: "unhandled error" }),
    );
  });
});
