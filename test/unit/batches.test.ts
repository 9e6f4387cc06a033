import { describe, expect, it } from "vitest";
import { Batches } from "../../src/limiter/batches.ts";

/** A sender that records each batch and answers when told to. */
function gatedSender() {
  const sent: number[][] = [];
  const gates: Array<() => void> = [];
  const send = async (_key: string, items: number[]) => {
    sent.push(items);
    await new Promise<void>((resolve) => gates.push(resolve));
    return items.map((item) => item * 10);
  };
  const release = async () => {
    await new Promise((resolve) => setTimeout(resolve, 0));
    gates.shift()?.();
    await new Promise((resolve) => setTimeout(resolve, 0));
  };
  return { sent, send, release };
}

describe("batches", () => {
  it("sends work that arrives while a batch is out as one next batch, in order", async () => {
    const { sent, send, release } = gatedSender();
    const batches = new Batches(send, 100);
    const answers = Promise.all([1, 2, 3, 4].map((item) => batches.submit("k", item)));
    await release();
    await release();
    expect(await answers).toEqual([10, 20, 30, 40]);
    expect(sent).toEqual([[1], [2, 3, 4]]);
  });

  it("keeps keys apart", async () => {
    const { sent, send, release } = gatedSender();
    const batches = new Batches(send, 100);
    const answers = Promise.all([batches.submit("a", 1), batches.submit("b", 2)]);
    await release();
    await release();
    expect(await answers).toEqual([10, 20]);
    expect(sent).toEqual([[1], [2]]);
  });

  it("splits a long queue into batches of at most the bound", async () => {
    const { sent, send, release } = gatedSender();
    const batches = new Batches(send, 2);
    const answers = Promise.all([1, 2, 3, 4, 5].map((item) => batches.submit("k", item)));
    for (let i = 0; i < 3; i++) await release();
    expect(await answers).toEqual([10, 20, 30, 40, 50]);
    expect(sent).toEqual([[1], [2, 3], [4, 5]]);
  });

  it("fails the members of a failed batch, and goes on with the next", async () => {
    let calls = 0;
    const batches = new Batches<number, number>(async (_key, items) => {
      calls++;
      if (calls === 1) {
        await new Promise((resolve) => setTimeout(resolve, 5));
        throw new Error("down");
      }
      return items;
    }, 100);
    const first = batches.submit("k", 1);
    const queued = [batches.submit("k", 2), batches.submit("k", 3)];
    await expect(first).rejects.toThrow("down");
    expect(await Promise.all(queued)).toEqual([2, 3]);
  });
});
