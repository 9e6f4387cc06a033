/** Checklist A (routing), B (content type) and C (authentication), with SRH's order of checks (§1.1). */
import http from "node:http";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type Emulator, keys, SRH, startEmulator } from "./support.ts";

let emulator: Emulator;
beforeAll(async () => {
  emulator = await startEmulator();
});
afterAll(() => emulator.stop());

describe("routing", () => {
  it("A1 greets GET / without any header, as a JSON string", async () => {
    const answer = await emulator.request("/");
    expect(answer.status).toBe(200);
    expect(answer.headers.get("content-type")).toBe("application/json");
    expect(answer.text).toBe(SRH.welcome);
  });

  it("A2 has no path-style commands: GET /set/foo/bar is a 404 and sets nothing", async () => {
    const key = keys()("foo");
    const answer = await emulator.request(`/set/${key}/bar`, {
      headers: { authorization: `Bearer ${emulator.token}` },
    });
    expect([answer.status, answer.text]).toEqual([404, SRH.notFound]);
    expect(await emulator.command("EXISTS", key)).toBe(0);
  });

  it("A3-A5 answers 404 for every unsupported route and method", async () => {
    const cases = [
      emulator.post("/set/foo/bar", []),
      emulator.post("/subscribe/chan", [], { headers: { accept: "text/event-stream" } }),
      emulator.post("/monitor", []),
      emulator.request("/", { method: "OPTIONS" }),
      emulator.request("/pipeline"),
      emulator.post("/PIPELINE", [["PING"]]),
    ];
    for (const answer of await Promise.all(cases))
      expect([answer.status, answer.text]).toEqual([404, SRH.notFound]);
    const head = await emulator.request("/", { method: "HEAD" });
    expect(head.status).toBe(404);
  });

  it("A6 routes /pipeline/ and //pipeline like /pipeline, ignoring the query", async () => {
    for (const path of ["/pipeline/", "//pipeline", "/pipeline?x=1"]) {
      const answer = await emulator.post(path, [["PING"]]);
      expect([answer.status, answer.text]).toEqual([200, '[{"result":"PONG"}]']);
    }
  });

  it("A7 does not read a ?_token= query: the Authorization header is missing", async () => {
    const answer = await emulator.post(`/?_token=${emulator.token}`, ["PING"], { authorization: null });
    expect([answer.status, answer.text]).toEqual([400, SRH.authorization]);
  });
});

describe("content type", () => {
  it("B1 B2 refuses a POST without application/json, with SRH's charset on this one answer", async () => {
    for (const contentType of [null, "text/plain"]) {
      const answer = await emulator.post("/", ["PING"], { contentType });
      expect([answer.status, answer.text]).toEqual([400, SRH.contentType]);
      expect(answer.headers.get("content-type")).toBe("application/json; charset=utf-8");
    }
  });

  it("B3 checks the content type before routing", async () => {
    const answer = await emulator.post("/nonexistent", ["PING"], { contentType: "text/plain" });
    expect([answer.status, answer.text]).toEqual([400, SRH.contentType]);
  });

  it("B4 is as strict as SRH: application/json; charset=utf-8 is refused", async () => {
    const answer = await emulator.post("/", ["PING"], { contentType: "application/json; charset=utf-8" });
    expect([answer.status, answer.text]).toEqual([400, SRH.contentType]);
  });

  it("checks the content type before the Authorization header", async () => {
    const answer = await emulator.post("/", ["PING"], { contentType: "text/plain", authorization: null });
    expect([answer.status, answer.text]).toEqual([400, SRH.contentType]);
  });
});

describe("authentication", () => {
  it("C1-C3 wants exactly `Bearer <token>`", async () => {
    for (const authorization of [null, `Token ${emulator.token}`, `bearer ${emulator.token}`, "Bearer  x"]) {
      const answer = await emulator.post("/", ["PING"], { authorization });
      expect([answer.status, answer.text]).toEqual([400, SRH.authorization]);
    }
  });

  it("C4 C5 refuses a wrong token with 401, never base64-encoded", async () => {
    for (const base64 of [false, true]) {
      const answer = await emulator.post("/", ["PING"], { authorization: "Bearer wrong", base64 });
      expect([answer.status, answer.text]).toEqual([401, SRH.token]);
      expect(answer.headers.get("content-type")).toBe("application/json");
    }
  });

  it("C6 takes `Bearer ` as a malformed header and `Bearer undefined` as a wrong token", async () => {
    const empty = await emulator.post("/", ["PING"], { authorization: "Bearer " });
    expect([empty.status, empty.text]).toEqual([400, SRH.authorization]);
    const undef = await emulator.post("/", ["PING"], { authorization: "Bearer undefined" });
    expect([undef.status, undef.text]).toEqual([401, SRH.token]);
  });

  it("C7 checks the body's shape before the token", async () => {
    const answer = await emulator.post("/", {}, { authorization: "Bearer wrong" });
    expect([answer.status, answer.text]).toEqual([400, SRH.commandArray]);
  });

  it("C8 answers a missing header with 400 JSON even with base64 on (SRH: empty 500)", async () => {
    const answer = await emulator.post("/", ["PING"], { authorization: null, base64: true });
    expect([answer.status, answer.text]).toEqual([400, SRH.authorization]);
  });

  it("C9 guards /pipeline and /multi-exec with the token too", async () => {
    for (const path of ["/pipeline", "/multi-exec"]) {
      const answer = await emulator.post(path, [["PING"]], { authorization: "Bearer wrong" });
      expect([answer.status, answer.text]).toEqual([401, SRH.token]);
    }
  });

  it("accepts the token from any one of several Authorization headers, as SRH does", async () => {
    const status = await new Promise<number>((resolve, reject) => {
      const request = http.request(emulator.url, { method: "POST" });
      request.setHeader("content-type", "application/json");
      // Two separate header lines; fetch would join them into one value.
      request.setHeader("authorization", ["Basic eDp5", `Bearer ${emulator.token}`]);
      request.once("response", (response) => {
        response.resume();
        resolve(response.statusCode ?? 0);
      });
      request.once("error", reject);
      request.end('["PING"]');
    });
    expect(status).toBe(200);
  });
});
