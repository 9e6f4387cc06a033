import { exports } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { postCheck, unique } from "./helpers.ts";

async function expect422(response: Response, loc: (string | number)[], type: string) {
  expect(response.status).toBe(422);
  const body = await response.json<{ detail: { loc: unknown[]; msg: string; type: string }[] }>();
  expect(body.detail).toContainEqual(expect.objectContaining({ loc, type, msg: expect.any(String) }));
}

describe("bad input to /check", () => {
  it("answers malformed JSON with 422", async () => {
    await expect422(await postCheck('{"identifier": "x",'), ["body"], "json_invalid");
  });

  it("answers a body that is not an object with 422", async () => {
    await expect422(await postCheck("[1,2]"), ["body"], "model_attributes_type");
    await expect422(await postCheck("null"), ["body"], "model_attributes_type");
  });

  it("answers a missing identifier with 422", async () => {
    await expect422(await postCheck({ tier: "free" }), ["body", "identifier"], "missing");
  });

  it("answers an identifier of the wrong type, empty or too long with 422", async () => {
    await expect422(await postCheck({ identifier: 42 }), ["body", "identifier"], "string_type");
    await expect422(await postCheck({ identifier: "" }), ["body", "identifier"], "string_too_short");
    await expect422(
      await postCheck({ identifier: "x".repeat(257) }),
      ["body", "identifier"],
      "string_too_long",
    );
  });

  it("counts the identifier's length in characters, not UTF-16 units", async () => {
    const identifier = `${crypto.randomUUID()}${"🙂".repeat(220)}`; // 256 characters, 476 UTF-16 units
    expect((await postCheck({ identifier })).status).toBe(200);
    await expect422(
      await postCheck({ identifier: `${identifier}🙂` }),
      ["body", "identifier"],
      "string_too_long",
    );
  });

  it("answers control characters in the identifier with 422", async () => {
    for (const identifier of ["a\u0000b", "tab\there", "line\nbreak", "del\u007f"]) {
      await expect422(await postCheck({ identifier }), ["body", "identifier"], "string_pattern_mismatch");
    }
  });

  it("answers a bad cost with 422", async () => {
    const identifier = unique("cost");
    await expect422(await postCheck({ identifier, cost: -1 }), ["body", "cost"], "greater_than_equal");
    await expect422(await postCheck({ identifier, cost: 1.5 }), ["body", "cost"], "int_type");
    await expect422(await postCheck({ identifier, cost: "2" }), ["body", "cost"], "int_type");
    await expect422(await postCheck({ identifier, cost: 101 }), ["body", "cost"], "less_than_equal");
  });

  it("answers a huge cost with the message of its type, as pydantic does", async () => {
    const identifier = unique("huge-cost");
    const answers: Array<[string, string, string]> = [
      ["9007199254740992", "Input should be less than or equal to 100", "less_than_equal"],
      ["9007199254740992.0", "Input should be less than or equal to 100", "less_than_equal"],
      ["1e300", "Unable to parse input string as an integer, exceeded maximum size", "int_parsing_size"],
    ];
    for (const [cost, msg, type] of answers) {
      const response = await postCheck(`{"identifier": "${identifier}", "cost": ${cost}}`);
      expect(response.status, cost).toBe(422);
      expect(await response.json()).toEqual({ detail: [{ loc: ["body", "cost"], msg, type }] });
    }
  });

  it("accepts a cost up to the tier's limit", async () => {
    const response = await postCheck({ identifier: unique("max-cost"), tier: "pro", cost: 1000 });
    expect(await response.json()).toMatchObject({ allowed: true, tokens_remaining: 0 });
  });

  it("answers a content type other than JSON with 422, and reads a body without one as JSON", async () => {
    const form = await exports.default.fetch("http://limiter.test/check", {
      method: "POST",
      headers: { "content-type": "application/x-www-form-urlencoded" },
      body: "identifier=x",
    });
    await expect422(form, ["body"], "model_attributes_type");
    // A string body would get text/plain from fetch; bytes go out with no content type at all.
    const bytes = new TextEncoder().encode(JSON.stringify({ identifier: unique("bare") }));
    const bare = await exports.default.fetch("http://limiter.test/check", { method: "POST", body: bytes });
    expect(bare.status).toBe(200);
  });

  it("answers a body over 4 KiB with 413", async () => {
    const response = await postCheck({ identifier: "x", padding: "y".repeat(5000) });
    expect(response.status).toBe(413);
    expect(await response.json()).toEqual({ detail: "Request body too large" });
  });

  it("answers a chunked body over 4 KiB with 413, without a Content-Length to trust", async () => {
    const chunk = new TextEncoder().encode(" ".repeat(1024));
    const stream = new ReadableStream({
      start(controller) {
        for (let i = 0; i < 6; i++) controller.enqueue(chunk);
        controller.close();
      },
    });
    const response = await exports.default.fetch("http://limiter.test/check", {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: stream,
    });
    expect(response.status).toBe(413);
  });
});

describe("routes", () => {
  it("answers an unknown route with 404 JSON", async () => {
    const response = await exports.default.fetch("http://limiter.test/nope");
    expect(response.status).toBe(404);
    expect(await response.json()).toEqual({ detail: "Not Found" });
  });

  it("answers a wrong method on a known route with 405 JSON and Allow", async () => {
    const get = await exports.default.fetch("http://limiter.test/check");
    expect(get.status).toBe(405);
    expect(get.headers.get("Allow")).toBe("POST");
    expect(await get.json()).toEqual({ detail: "Method Not Allowed" });
    const post = await exports.default.fetch("http://limiter.test/health", { method: "POST" });
    expect(post.status).toBe(405);
    expect(post.headers.get("Allow")).toBe("GET, HEAD");
  });

  /** A request to `path` by `method`, with a valid `/check` body when the method takes one. */
  const send = (method: string, path: string) =>
    exports.default.fetch(`http://limiter.test${path}`, {
      method,
      headers: { "content-type": "application/json" },
      body: ["GET", "HEAD"].includes(method) ? undefined : JSON.stringify({ identifier: unique("route") }),
    });

  it("serves POST /check with a query, or spelled with percent-encoding as Hono's router reads it", async () => {
    for (const path of ["/check?x=1", "/%63heck", "/%63hec%6B?x=1"]) {
      const response = await send("POST", path);
      expect(response.status, path).toBe(200);
      expect(await response.json()).toMatchObject({ allowed: true, limit: 100 });
    }
    expect((await send("GET", "/%63heck")).headers.get("Allow")).toBe("POST");
  });

  it("answers a path with a trailing slash with 404 whatever the method: it is another path", async () => {
    for (const path of ["/check/", "/check/?x=1", "/health/", "/docs/", "/openapi.json/"]) {
      for (const method of ["GET", "HEAD", "POST", "DELETE"]) {
        const response = await send(method, path);
        expect(response.status, `${method} ${path}`).toBe(404);
        if (method !== "HEAD") expect(await response.json()).toEqual({ detail: "Not Found" });
      }
    }
  });

  it("answers HEAD /health as GET, without a body", async () => {
    const response = await send("HEAD", "/health");
    expect(response.status).toBe(200);
    expect(await response.text()).toBe("");
  });

  it("never names in Allow a method that the same path then refuses", async () => {
    const paths = [
      "/check",
      "/check/",
      "/%63heck",
      "/check?x=1",
      "/health",
      "/health/",
      "/%68ealth",
      "/docs",
    ];
    for (const path of paths) {
      for (const method of ["GET", "HEAD", "POST", "PUT", "DELETE", "OPTIONS"]) {
        const response = await send(method, path);
        if (response.status !== 405) continue;
        for (const allowed of (response.headers.get("Allow") ?? "").split(", ")) {
          const answer = await send(allowed, path);
          expect([404, 405], `${method} ${path} allows ${allowed}`).not.toContain(answer.status);
        }
      }
    }
  });

  it("sends no CORS headers", async () => {
    const response = await postCheck({ identifier: unique("cors") }, { origin: "https://example.com" });
    expect(response.headers.has("access-control-allow-origin")).toBe(false);
  });
});
