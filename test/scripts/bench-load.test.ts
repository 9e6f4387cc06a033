/**
 * The bench's load generator (scripts/bench/load.ts) on autocannon: a job stops at its time limit without
 * dropping a request in flight (the server sees exactly the requests answered), and stops at its count.
 */
import http from "node:http";
import type { AddressInfo } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type Job, runJob } from "../../scripts/bench/load.ts";
import { WORKLOADS } from "../../scripts/bench/workloads.ts";

const HOLD_MS = 40;

describe("the bench's load generator", () => {
  let server: http.Server;
  let received = 0;
  const bodies: string[] = [];
  let job: Omit<Job, "requests" | "maxMs">;

  beforeAll(async () => {
    server = http.createServer((request, response) => {
      received++;
      let body = "";
      request.on("data", (chunk: Buffer) => {
        body += chunk.toString();
      });
      request.on("end", () => {
        bodies.push(body);
        // spread-0, spread-2, ... are allowed; spread-1, spread-3, ... denied.
        const denied = Number(String(JSON.parse(body).identifier).split("-")[1]) % 2 === 1;
        setTimeout(() => response.writeHead(denied ? 429 : 200).end("{}"), HOLD_MS);
      });
    });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    const { port } = server.address() as AddressInfo;
    job = {
      url: `http://127.0.0.1:${port}/check`,
      workload: WORKLOADS.spread,
      concurrency: 4,
      okStatuses: [200, 429],
      offset: 0,
    };
  });
  afterAll(async () => {
    server?.closeAllConnections();
    await new Promise((resolve) => server?.close(resolve));
  });

  it("stops at its time limit, each connection finishing the request it has in flight", async () => {
    received = 0;
    const result = await runJob({ ...job, requests: 1_000_000, maxMs: 200 });
    expect(result.errors).toBe(0);
    expect(result.done).toBeGreaterThanOrEqual(4);
    expect(received).toBe(result.done);
    expect(result.seconds).toBeLessThan(0.2 + (3 * HOLD_MS) / 1000 + 0.1);
    expect(result.p50).toBeGreaterThanOrEqual(HOLD_MS);
    expect((result.statuses[200] ?? 0) + (result.statuses[429] ?? 0)).toBe(result.done);
  });

  it("stops at its count, sending the workload's bodies in order", async () => {
    received = 0;
    bodies.length = 0;
    const result = await runJob({ ...job, requests: 10, maxMs: 10_000 });
    expect(result.done).toBe(10);
    expect(received).toBe(10);
    expect(bodies.map((body) => JSON.parse(body).identifier).sort()).toEqual(
      Array.from({ length: 10 }, (_, i) => `spread-${i}`).sort(),
    );
  });

  it("counts an answer with another status as an error, with its body", async () => {
    const result = await runJob({ ...job, okStatuses: [200], requests: 4, maxMs: 10_000 });
    expect(result.errors).toBe(2);
    expect(result.firstError).toBe("429 {}");
  });
});
