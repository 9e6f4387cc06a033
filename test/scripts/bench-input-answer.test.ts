/**
 * The bench's "input + answer" ceiling (scripts/bench/peers/input-answer-worker.ts) reads a check as this
 * Worker's route does, with the bench's own tier compiled in beside config.yaml's, and answers the SPEC's
 * denial: so every workload of the bench, on every tier it uses, gets an answer from it.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ROOMY_TIER } from "../../scripts/bench/bench-tiers.ts";
import { buildPeer } from "../../scripts/bench/builds.ts";
import { type RunningWorker, startWorker } from "../../scripts/bench/workers.ts";
import { requestBody, WORKLOADS } from "../../scripts/bench/workloads.ts";

describe("the bench's input + answer ceiling", () => {
  let worker: RunningWorker;

  beforeAll(async () => {
    const { script } = await buildPeer("input-answer-worker.ts", [ROOMY_TIER]);
    worker = await startWorker("input-answer", script, {});
  }, 60_000);

  afterAll(async () => {
    await worker?.dispose();
  });

  const post = (body: string, contentType = "application/json") =>
    fetch(worker.checkUrl, { method: "POST", headers: { "content-type": contentType }, body });

  it.each(Object.values(WORKLOADS))("denies the $name workload's requests on its tier", async (workload) => {
    const response = await post(requestBody(workload, 7));
    expect(response.status).toBe(429);
    expect(response.headers.get("ratelimit-policy")).toBe(
      `"${workload.tier.name}";q=${workload.tier.limit};w=${workload.tier.window}`,
    );
  });

  it("reads the body as the route does: with a content type other than JSON, no check", async () => {
    const response = await post(requestBody(WORKLOADS.hot, 7), "text/plain");
    expect(response.status).toBe(422);
    expect(await response.text()).toContain("model_attributes_type");
  });

  it("answers only POST /check", async () => {
    const response = await fetch(worker.checkUrl.replace("/check", "/other"), { method: "POST" });
    expect(response.status).toBe(404);
    await response.arrayBuffer();
  });
});
