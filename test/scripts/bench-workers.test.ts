/**
 * The bench runs each Worker on a socket of its own (scripts/bench/workers.ts): a request reaches the
 * Worker as it arrived, not through Miniflare's entry Worker, which would add its own work (about two
 * thirds of a cached decision's instructions) to every Worker's figures. The entry Worker is what gives a
 * request its `cf` object, so a Worker that sees none was reached directly.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type RunningWorker, startWorker } from "../../scripts/bench/workers.ts";

const PROBE = `export default {
  async fetch(request) {
    return Response.json({ cf: request.cf ?? null, url: request.url, body: await request.text() });
  },
};`;

describe("the bench's Workers", () => {
  let worker: RunningWorker;

  beforeAll(async () => {
    worker = await startWorker("probe", PROBE, {});
  }, 30_000);

  afterAll(async () => {
    await worker?.dispose();
  });

  it("are reached on their own socket, without Miniflare's entry Worker in front", async () => {
    const response = await fetch(worker.checkUrl, { method: "POST", body: '{"identifier":"a"}' });
    expect(await response.json()).toEqual({
      cf: null,
      url: worker.checkUrl,
      body: '{"identifier":"a"}',
    });
  });
});
