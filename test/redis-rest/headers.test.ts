/** Checklist I: headers the client sends are accepted and ignored, SRH's response headers, keep-alive. */
import http from "node:http";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type Emulator, keys, SRH, startEmulator } from "./support.ts";

let emulator: Emulator;
beforeAll(async () => {
  emulator = await startEmulator();
});
afterAll(() => emulator.stop());

describe("request headers", () => {
  it("I1 accepts and ignores upstash-sync-token, empty or not", async () => {
    for (const token of ["", "abc"]) {
      const answer = await emulator.post("/", ["PING"], { headers: { "upstash-sync-token": token } });
      expect([answer.status, answer.text]).toEqual([200, '{"result":"PONG"}']);
    }
  });

  it("I3 accepts and ignores the client's telemetry headers", async () => {
    const answer = await emulator.post("/pipeline", [["PING"]], {
      headers: {
        "Upstash-Telemetry-Sdk": "@upstash/redis@v1.39.0",
        "Upstash-Telemetry-Platform": "unknown",
        "Upstash-Telemetry-Runtime": "node@v22.23.3",
        "Upstash-Telemetry-Retry": "1",
      },
    });
    expect([answer.status, answer.text]).toEqual([200, '[{"result":"PONG"}]']);
  });
});

describe("response headers", () => {
  it("I2 I4 answers results and Redis errors as application/json, without upstash-sync-token", async () => {
    const key = keys()("s");
    await emulator.command("SET", key, "x");
    const ok = await emulator.post("/", ["GET", key]);
    const redisError = await emulator.post("/", ["LPUSH", key, "y"]);
    expect(redisError.text).toBe(SRH.wrongType);
    for (const answer of [ok, redisError]) {
      expect(answer.headers.get("content-type")).toBe("application/json");
      expect(answer.headers.get("cache-control")).toBe("max-age=0, private, must-revalidate");
      expect(answer.headers.has("upstash-sync-token")).toBe(false);
      expect(answer.headers.has("access-control-allow-origin")).toBe(false);
    }
  });
});

describe("connections", () => {
  it("I5 serves many sequential requests on one kept-alive socket", async () => {
    const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
    const sockets = new Set<unknown>();
    try {
      for (let i = 0; i < 20; i++) {
        const body = await new Promise<string>((resolve, reject) => {
          const request = http.request(emulator.url, {
            agent,
            method: "POST",
            headers: { "content-type": "application/json", authorization: `Bearer ${emulator.token}` },
          });
          request.once("socket", (socket) => sockets.add(socket));
          request.once("response", (response) => {
            let text = "";
            response.setEncoding("utf8");
            response.on("data", (chunk: string) => {
              text += chunk;
            });
            response.once("end", () => resolve(text));
          });
          request.once("error", reject);
          request.end(JSON.stringify(["ECHO", `m${i}`]));
        });
        expect(body).toBe(`{"result":"m${i}"}`);
      }
      expect(sockets.size).toBe(1);
    } finally {
      agent.destroy();
    }
  });
});
