import { createExecutionContext } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { afterEach, describe, expect, inject, it, vi } from "vitest";
import worker from "../../src/index.ts";
import {
  scriptSha,
  TOKEN_BUCKET_SCRIPT,
  TOKEN_BUCKET_SCRIPT_UNFLAGGED,
} from "../../src/limiter/token-bucket-script.ts";
import { checkRequest, postCheck, redis, unique, watchRedisCalls } from "./helpers.ts";

const strictFlagsUrl = inject("strictFlagsRestUrl");

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
    const sha = await scriptSha(TOKEN_BUCKET_SCRIPT);
    expect(await redis().scriptExists(sha)).toEqual([0]);

    const commands = watchRedisCalls();
    const response = await postCheck({ identifier });
    expect(response.status).toBe(200);
    expect(await response.json()).toMatchObject({ allowed: true, tokens_remaining: 98 });
    expect(commands).toEqual(["EVALSHA", "EVAL"]);
    expect(await redis().scriptExists(sha)).toEqual([1]);
  });
});

describe("pipelines", () => {
  it("sends the script calls of simultaneous requests on different buckets as one pipeline, one EVALSHA each", async () => {
    await postCheck({ identifier: unique("warm-up") });
    const identifiers = Array.from({ length: 8 }, () => unique("pipelined"));
    const commands = watchRedisCalls();

    const responses = await Promise.all(identifiers.map((identifier) => postCheck({ identifier })));

    for (const response of responses) {
      expect(await response.json()).toMatchObject({ allowed: true, tokens_remaining: 99 });
    }
    expect(commands).toEqual([`PIPELINE ${Array(8).fill("EVALSHA").join(" ")}`]);
  });

  it("sends a call alone as a single EVALSHA, not as a pipeline of one", async () => {
    const identifier = unique("alone");
    await postCheck({ identifier });
    const commands = watchRedisCalls();
    expect((await postCheck({ identifier })).status).toBe(200);
    expect(commands).toEqual(["EVALSHA"]);
  });

  it("loads the script with EVAL once Redis lost it, for each call of a pipeline", async () => {
    await postCheck({ identifier: unique("warm-up") });
    await redis().scriptFlush();
    const identifiers = Array.from({ length: 3 }, () => unique("pipelined-flush"));
    const commands = watchRedisCalls();

    const responses = await Promise.all(identifiers.map((identifier) => postCheck({ identifier })));

    for (const response of responses) {
      expect(await response.json()).toMatchObject({ allowed: true, tokens_remaining: 99 });
    }
    // NOSCRIPT in each slot; each call then goes alone, straight to EVAL.
    expect(commands).toEqual(["PIPELINE EVALSHA EVALSHA EVALSHA", "EVAL", "EVAL", "EVAL"]);
  });
});

describe("the script's allow-key-locking flag", () => {
  it("is sent, so that Upstash locks only the bucket's keys while the script runs", async () => {
    expect(TOKEN_BUCKET_SCRIPT.startsWith("#!lua flags=allow-key-locking\n")).toBe(true);
    expect(TOKEN_BUCKET_SCRIPT_UNFLAGGED).not.toContain("#!lua");
    const identifier = unique("flagged");
    expect((await postCheck({ identifier })).status).toBe(200);
    // The REST server here accepts the flag as Upstash does: the flagged script is the one Redis ran.
    expect(await redis().scriptExists(await scriptSha(TOKEN_BUCKET_SCRIPT))).toEqual([1]);
  });

  it.skipIf(strictFlagsUrl === undefined)(
    "falls back to the unflagged script, once per isolate, where the endpoint refuses the flag",
    async () => {
      // A fresh environment object is a fresh isolate's services, against an endpoint that refuses the flag as SRH does.
      const srh = { ...env, UPSTASH_REDIS_REST_URL: strictFlagsUrl } as Env;
      const identifier = unique("srh");
      const commands = watchRedisCalls();
      const first = await worker.fetch(checkRequest({ identifier }), srh, createExecutionContext());
      expect(first.status).toBe(200);
      expect(await first.json()).toMatchObject({ allowed: true, tokens_remaining: 99 });
      // EVALSHA of the flagged script and its EVAL, refused; then the unflagged one's EVALSHA, and EVAL if new.
      expect(commands.slice(0, 3)).toEqual(["EVALSHA", "EVAL", "EVALSHA"]);

      commands.length = 0;
      const second = await worker.fetch(checkRequest({ identifier }), srh, createExecutionContext());
      expect(await second.json()).toMatchObject({ allowed: true, tokens_remaining: 98 });
      expect(commands).toEqual(["EVALSHA"]);
    },
  );

  it.skipIf(strictFlagsUrl === undefined)(
    "falls back for every call when a fresh isolate's first calls share a pipeline",
    async () => {
      const srh = { ...env, UPSTASH_REDIS_REST_URL: strictFlagsUrl } as Env;
      const identifiers = Array.from({ length: 4 }, () => unique("srh-pipelined"));

      const responses = await Promise.all(
        identifiers.map((identifier) =>
          worker.fetch(checkRequest({ identifier }), srh, createExecutionContext()),
        ),
      );

      for (const response of responses) {
        expect(response.status).toBe(200);
        expect(await response.json()).toMatchObject({ allowed: true, tokens_remaining: 99 });
      }
    },
  );
});
