/** The bench's delay proxy (scripts/bench/delay-proxy.ts): it adds its delay, half each way, and changes nothing else. */
import http from "node:http";
import type { AddressInfo } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type DelayProxy, startDelayProxy } from "../../scripts/bench/delay-proxy.ts";

const RTT_MS = 60;

describe("the bench's delay proxy", () => {
  let target: http.Server;
  let proxy: DelayProxy;
  /** When each request reached the target, and on how many connections. */
  const arrivals: number[] = [];
  let connections = 0;

  beforeAll(async () => {
    target = http.createServer((request, response) => {
      arrivals.push(performance.now());
      let body = "";
      request.on("data", (chunk: Buffer) => {
        body += chunk.toString();
      });
      request.on("end", () => {
        response.writeHead(201, { "content-type": "application/json", "x-path": request.url ?? "" });
        response.end(JSON.stringify({ echoed: body, auth: request.headers.authorization }));
      });
    });
    target.on("connection", () => connections++);
    await new Promise<void>((resolve) => target.listen(0, "127.0.0.1", resolve));
    const { port } = target.address() as AddressInfo;
    proxy = await startDelayProxy({ target: `http://127.0.0.1:${port}`, rttMs: RTT_MS });
  });
  afterAll(async () => {
    await proxy?.close();
    target?.closeAllConnections();
    await new Promise((resolve) => target?.close(resolve));
  });

  const post = (path: string, body: string) =>
    fetch(`${proxy.url}${path}`, { method: "POST", body, headers: { authorization: "Bearer t" } });

  it("adds its delay to the round trip, half of it before the request reaches the target", async () => {
    const sent = performance.now();
    const response = await post("/pipeline", '["PING"]');
    const roundTrip = performance.now() - sent;
    await response.text();
    expect(roundTrip).toBeGreaterThanOrEqual(RTT_MS);
    expect(roundTrip).toBeLessThan(RTT_MS + 200);
    expect((arrivals.at(-1) ?? 0) - sent).toBeGreaterThanOrEqual(RTT_MS / 2 - 1);
  });

  it("passes the path, headers, body and status through unchanged", async () => {
    const response = await post("/pipeline", '["GET","k"]');
    expect(response.status).toBe(201);
    expect(response.headers.get("x-path")).toBe("/pipeline");
    expect(await response.json()).toEqual({ echoed: '["GET","k"]', auth: "Bearer t" });
  });

  it("keeps its connection to the target alive between requests", async () => {
    const before = connections;
    for (let i = 0; i < 3; i++) await (await post("/", "[]")).text();
    expect(connections - before).toBeLessThanOrEqual(1);
  });
});
