/** Checklist G (`/pipeline`) and H (`/multi-exec`, one dedicated connection per transaction). */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type Emulator, keys, SRH, startEmulator } from "./support.ts";

let emulator: Emulator;
beforeAll(async () => {
  emulator = await startEmulator();
});
afterAll(() => emulator.stop());

async function run(path: string, body: unknown, base64 = false): Promise<[number, string]> {
  const answer = await emulator.post(path, body, { base64 });
  return [answer.status, answer.text];
}

describe("/pipeline", () => {
  it("G1 G3 answers one slot per command, in order, encoded on request", async () => {
    const key = keys();
    expect(
      await run("/pipeline", [
        ["SET", key("a"), "1"],
        ["INCR", key("a")],
        ["GET", key("a")],
      ]),
    ).toEqual([200, '[{"result":"OK"},{"result":2},{"result":"2"}]']);
    const encoded = await run(
      "/pipeline",
      [
        ["SET", key("b"), "1"],
        ["INCR", key("b")],
        ["GET", key("b")],
      ],
      true,
    );
    expect(encoded).toEqual([200, '[{"result":"T0s="},{"result":2},{"result":"Mg=="}]']);
  });

  it("G2 G7 fails only the slot of a Redis error; later commands still run", async () => {
    const key = keys();
    expect(
      await run("/pipeline", [
        ["SET", key("s"), "x"],
        ["INCR", key("s")],
        ["GET", key("s")],
      ]),
    ).toEqual([200, `[{"result":"OK"},${SRH.notInteger},{"result":"x"}]`]);
    const noScript = await run("/pipeline", [["EVALSHA", "0".repeat(40), 0]], true);
    expect(noScript).toEqual([200, `[${SRH.noScript}]`]);
  });

  it("G4 answers an empty pipeline with []", async () => {
    expect(await run("/pipeline", [])).toEqual([200, "[]"]);
  });

  it("G5 G6 wants an array of arrays, and runs nothing otherwise (G6 SRH: empty 500)", async () => {
    const key = keys()("g5");
    expect(await run("/pipeline", [["SET", key, "1"], "oops"])).toEqual([400, SRH.pipelineArray]);
    for (const body of ["{}", '"x"', ""])
      expect(await run("/pipeline", body)).toEqual([400, SRH.pipelineArray]);
    expect(await run("/pipeline", [["SET", key, "1"], []])).toEqual([400, '{"error":"ERR empty command"}']);
    expect(
      (
        await run("/pipeline", [
          ["SET", key, "1"],
          ["SELECT", 2],
        ])
      )[0],
    ).toBe(400);
    expect(await emulator.command("EXISTS", key)).toBe(0);
  });

  it("G8 answers 1000 commands with 1000 slots, in order", async () => {
    const key = keys()("n");
    const commands = Array.from({ length: 1000 }, () => ["INCR", key]);
    const answer = await emulator.post("/pipeline", commands);
    expect(answer.json).toEqual(Array.from({ length: 1000 }, (_, i) => ({ result: i + 1 })));
  });

  it("G9 runs a blocking command on its own connection, without holding up other requests", async () => {
    const key = keys();
    await emulator.command("SET", key("x"), "v");
    const started = Date.now();
    const blocked = run("/pipeline", [["BLPOP", key("empty"), 0.3], ["PING"]]);
    const value = await emulator.command("GET", key("x"));
    expect(value).toBe("v");
    expect(Date.now() - started).toBeLessThan(250);
    expect(await blocked).toEqual([200, '[{"result":null},{"result":"PONG"}]']);
  });
});

describe("/multi-exec", () => {
  it("H1 H2 runs a transaction, encoded on request", async () => {
    const key = keys();
    expect(
      await run("/multi-exec", [
        ["SET", key("a"), "1"],
        ["INCR", key("a")],
      ]),
    ).toEqual([200, '[{"result":"OK"},{"result":2}]']);
    expect(
      await run(
        "/multi-exec",
        [
          ["SET", key("b"), "1"],
          ["INCR", key("b")],
        ],
        true,
      ),
    ).toEqual([200, '[{"result":"T0s="},{"result":2}]']);
  });

  it("H3 H4 discards the whole transaction on a queue-time error", async () => {
    const key = keys()("q");
    expect(await run("/multi-exec", [["SET", key, "1"], ["FOO"]])).toEqual([400, SRH.execAbort]);
    expect(await run("/multi-exec", [["GET"]])).toEqual([400, SRH.execAbort]);
    expect(await emulator.command("EXISTS", key)).toBe(0);
  });

  it("H5 answers a runtime error in EXEC as an error slot with 200 (SRH: empty 500)", async () => {
    const key = keys()("s");
    expect(
      await run("/multi-exec", [
        ["SET", key, "x"],
        ["INCR", key],
        ["GET", key],
      ]),
    ).toEqual([200, `[{"result":"OK"},${SRH.notInteger},{"result":"x"}]`]);
  });

  it("H6 answers an empty transaction with []", async () => {
    expect(await run("/multi-exec", [])).toEqual([200, "[]"]);
  });

  it("refuses stateful commands inside a transaction too, so a reused connection stays clean", async () => {
    const key = keys()("sel");
    const [status] = await run("/multi-exec", [
      ["SELECT", 1],
      ["SET", key, "1"],
    ]);
    expect(status).toBe(400);
    expect(await emulator.command("EXISTS", key)).toBe(0);
  });

  it("H7 runs 10 concurrent transactions without `MULTI calls can not be nested` (SRH issue #25)", async () => {
    const key = keys();
    const answers = await Promise.all(
      Array.from({ length: 10 }, (_, i) =>
        run("/multi-exec", [
          ["SET", key(`k${i}`), `v${i}`],
          ["GET", key(`k${i}`)],
        ]),
      ),
    );
    answers.forEach((answer, i) => {
      expect(answer).toEqual([200, `[{"result":"OK"},{"result":"v${i}"}]`]);
    });
  });

  it("H8 never lets a concurrent single command land inside an open transaction", async () => {
    const key = keys();
    await emulator.command("SET", key("x"), "v");
    const big = Array.from({ length: 3000 }, (_, i) => ["SET", key(`t${i}`), "1"]);
    const transaction = run("/multi-exec", big);
    const reads = await Promise.all(Array.from({ length: 50 }, () => emulator.command("GET", key("x"))));
    expect(new Set(reads)).toEqual(new Set(["v"]));
    expect((await transaction)[0]).toBe(200);
  });

  it("H9 is atomic: concurrent readers see none or all of a transaction's writes", async () => {
    const key = keys()("c");
    const transaction = run(
      "/multi-exec",
      Array.from({ length: 2000 }, () => ["INCR", key]),
    );
    const reads = await Promise.all(Array.from({ length: 50 }, () => emulator.command("GET", key)));
    for (const read of reads) expect([null, "2000"]).toContain(read);
    expect((await transaction)[0]).toBe(200);
    expect(await emulator.command("GET", key)).toBe("2000");
  });
});
