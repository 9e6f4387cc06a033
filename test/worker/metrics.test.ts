import { describe, expect, it } from "vitest";
import { checkRequest, fetchWith, unique } from "./helpers.ts";

/** A stand-in for the write-only Analytics Engine dataset that keeps what is written. */
function recordingDataset() {
  const points: AnalyticsEngineDataPoint[] = [];
  return { points, dataset: { writeDataPoint: (point: AnalyticsEngineDataPoint) => points.push(point) } };
}

describe("metrics", () => {
  it("writes one data point per decision: tier, outcome, a keyed hash of the identifier, cost", async () => {
    const { points, dataset } = recordingDataset();
    const identifier = unique("metered");
    const vars = { ANALYTICS: dataset, FAIL_MODE: "closed" };
    await fetchWith(vars, checkRequest({ identifier, cost: 100 }));
    await fetchWith(vars, checkRequest({ identifier, cost: 1 }));
    await fetchWith(vars, checkRequest({ identifier, tier: "trial", cost: 10 }));
    await fetchWith(vars, checkRequest({ identifier, tier: "trial", cost: 10 }));
    expect(points.map((point) => point.blobs?.slice(0, 2))).toEqual([
      ["free", "allowed"],
      ["free", "denied"],
      ["trial", "allowed"],
      ["trial", "shadow-denied"],
    ]);
    expect(points[0]).toMatchObject({ indexes: ["free"], doubles: [100, 0] });
    const hashes = new Set(points.map((point) => point.blobs?.[2]));
    expect(hashes.size).toBe(1);
    expect([...hashes][0]).toMatch(/^[0-9a-f]{32}$/);
    expect(JSON.stringify(points)).not.toContain(identifier);
  });

  it("counts denials the isolate answered alone, and answers while Redis is down", async () => {
    const { points, dataset } = recordingDataset();
    const identifier = unique("metered");
    const env = { ANALYTICS: dataset };
    // Two requests through one environment, so the second meets the first one's deny cache.
    const { env: testEnv } = await import("cloudflare:workers");
    const { createExecutionContext, waitOnExecutionContext } = await import("cloudflare:test");
    const worker = (await import("../../src/index.ts")).default;
    const shared = { ...testEnv, ...env };
    for (const cost of [100, 1]) {
      const ctx = createExecutionContext();
      await worker.fetch(checkRequest({ identifier, cost }), shared, ctx);
      await waitOnExecutionContext(ctx);
    }
    expect(points.map((point) => point.blobs?.[1])).toEqual(["allowed", "denied-cached"]);

    const down = recordingDataset();
    const refusing = {
      ANALYTICS: down.dataset,
      UPSTASH_REDIS_REST_URL: "http://127.0.0.1:9",
      REDIS_TIMEOUT_MS: "200",
    };
    await fetchWith({ ...refusing, FAIL_MODE: "open" }, checkRequest({ identifier }));
    await fetchWith({ ...refusing, FAIL_MODE: "closed" }, checkRequest({ identifier }));
    expect(down.points.map((point) => point.blobs?.[1])).toEqual(["degraded", "unavailable"]);
  });

  it("counts admissions granted from the isolate's lease apart, as allowed-leased", async () => {
    const { points, dataset } = recordingDataset();
    const identifier = unique("metered");
    const { env: testEnv } = await import("cloudflare:workers");
    const { createExecutionContext, waitOnExecutionContext } = await import("cloudflare:test");
    const worker = (await import("../../src/index.ts")).default;
    const shared = { ...testEnv, ANALYTICS: dataset, LEASE_MS: "500" };
    // One isolate's requests, each answered before the next: the second finds the bucket busy and leases
    // for its rate so far (2 tokens within the shortest window a rate is measured over, 50 ms of 500: 20
    // tokens), from which the next three are granted.
    const contexts = [];
    for (let i = 0; i < 5; i++) {
      const ctx = createExecutionContext();
      await worker.fetch(checkRequest({ identifier }), shared, ctx);
      contexts.push(ctx);
    }
    // Each request's waitUntil work: its data point, and the lease's give-back at its end.
    for (const ctx of contexts) await waitOnExecutionContext(ctx);
    expect(points.map((point) => point.blobs?.[1])).toEqual([
      "allowed",
      "allowed",
      "allowed-leased",
      "allowed-leased",
      "allowed-leased",
    ]);
  });

  it("changes nothing without the binding", async () => {
    const response = await fetchWith({ ANALYTICS: undefined }, checkRequest({ identifier: unique("plain") }));
    expect(response.status).toBe(200);
  });
});
