import { afterEach, describe, expect, it, vi } from "vitest";
import { TOKEN_BUCKET_SCRIPT } from "../../src/limiter/token-bucket-script.ts";
import { postCheck, redis, unique, watchRedisCalls } from "./helpers.ts";

async function sha1(text: string): Promise<string> {
  const digest = await crypto.subtle.digest("SHA-1", new TextEncoder().encode(text));
  return [...new Uint8Array(digest)].map((byte) => byte.toString(16).padStart(2, "0")).join("");
}

afterEach(() => {
  vi.restoreAllMocks();
});

describe("the script in Redis", () => {
  it("makes one round trip per decision: a single EVALSHA", async () => {
    const identifier = unique("round-trip");
    await postCheck({ identifier });
    const commands = watchRedisCalls();
    expect((await postCheck({ identifier })).status).toBe(200);
    expect(commands).toEqual(["EVALSHA"]);
  });

  it("recovers from SCRIPT FLUSH with no error: EVALSHA, NOSCRIPT, then EVAL", async () => {
    const identifier = unique("flush");
    expect((await postCheck({ identifier })).status).toBe(200);
    await redis().scriptFlush();
    const sha = await sha1(TOKEN_BUCKET_SCRIPT);
    expect(await redis().scriptExists(sha)).toEqual([0]);

    const commands = watchRedisCalls();
    const response = await postCheck({ identifier });
    expect(response.status).toBe(200);
    expect(await response.json()).toMatchObject({ allowed: true, tokens_remaining: 98 });
    expect(commands).toEqual(["EVALSHA", "EVAL"]);
    expect(await redis().scriptExists(sha)).toEqual([1]);
  });
});
