import { describe, expect, it } from "vitest";
import { pipelining } from "../../src/limiter/pipelining.ts";

/** A sender that records each turn it is given and answers every item with ten times itself. */
function recordingSender() {
  const sent: number[][] = [];
  const send = async (items: number[]) => {
    sent.push([...items]);
    return items.map((item): PromiseSettledResult<number> => ({ status: "fulfilled", value: item * 10 }));
  };
  return { sent, send };
}

const nextTurn = () => new Promise((resolve) => setTimeout(resolve, 0));

/** Lets a turn end: it is sent in a timer of 0 ms set by a timer of 0 ms. */
const turnEnds = () => nextTurn().then(nextTurn);

/** A call's context: a deadline far away, no waitUntil. */
const far = { deadlineAt: Date.now() + 60_000 };

describe("pipelining", () => {
  it("sends the calls of one turn together, in order, each answered with its own outcome", async () => {
    const { sent, send } = recordingSender();
    const pipelined = pipelining(send, 100);
    expect(await Promise.all([1, 2, 3].map((item) => pipelined(item, far)))).toEqual([10, 20, 30]);
    expect(sent).toEqual([[1, 2, 3]]);
  });

  it("sends a call alone when it is alone in its turn", async () => {
    const { sent, send } = recordingSender();
    const pipelined = pipelining(send, 100);
    expect(await pipelined(1, far)).toBe(10);
    const later = pipelined(2, far);
    await turnEnds();
    const last = pipelined(3, far);
    expect([await later, await last]).toEqual([20, 30]);
    expect(sent).toEqual([[1], [2], [3]]);
  });

  it("takes in the calls made in the timers already due as its turn ends: the batches made in that turn", async () => {
    // A bucket's opening call goes at once; the call beside it, made in the same turn, at the turn's
    // end (batches.ts). In one pipeline, Redis runs them as the requests came.
    const { sent, send } = recordingSender();
    const pipelined = pipelining(send, 100);
    const opening = pipelined(1, far);
    const beside = nextTurn().then(() => pipelined(2, far));
    expect(await Promise.all([opening, beside])).toEqual([10, 20]);
    expect(sent).toEqual([[1, 2]]);
  });

  it("never waits for a reply before sending the next turn", async () => {
    const sent: number[][] = [];
    const replies: Array<() => void> = [];
    const pipelined = pipelining(async (items: number[]) => {
      sent.push([...items]);
      await new Promise<void>((resolve) => replies.push(resolve));
      return items.map((item): PromiseSettledResult<number> => ({ status: "fulfilled", value: item }));
    }, 100);
    const first = pipelined(1, far);
    await turnEnds();
    const second = pipelined(2, far);
    await turnEnds();
    expect(sent).toEqual([[1], [2]]);
    for (const reply of replies) reply();
    expect([await first, await second]).toEqual([1, 2]);
  });

  it("opens another send past the most items one may carry", async () => {
    const { sent, send } = recordingSender();
    const pipelined = pipelining(send, 2);
    expect(await Promise.all([1, 2, 3, 4, 5].map((item) => pipelined(item, far)))).toEqual([
      10, 20, 30, 40, 50,
    ]);
    expect(sent).toEqual([[1, 2], [3, 4], [5]]);
  });

  it("fails only the call whose own outcome failed", async () => {
    const pipelined = pipelining(
      async (items: number[]) =>
        items.map(
          (item): PromiseSettledResult<number> =>
            item === 2
              ? { status: "rejected", reason: new Error("WRONGTYPE") }
              : { status: "fulfilled", value: item },
        ),
      100,
    );
    const outcomes = await Promise.allSettled([1, 2, 3].map((item) => pipelined(item, far)));
    expect(outcomes.map((outcome) => outcome.status)).toEqual(["fulfilled", "rejected", "fulfilled"]);
    expect((outcomes[1] as PromiseRejectedResult).reason).toEqual(new Error("WRONGTYPE"));
  });

  it("fails every call of a turn whose send failed, and sends the next turn as usual", async () => {
    let sends = 0;
    const pipelined = pipelining(async (items: number[]) => {
      sends++;
      if (sends === 1) throw new Error("endpoint unreachable");
      return items.map((item): PromiseSettledResult<number> => ({ status: "fulfilled", value: item }));
    }, 100);
    const failed = await Promise.allSettled([1, 2].map((item) => pipelined(item, far)));
    expect(failed.map((outcome) => outcome.status)).toEqual(["rejected", "rejected"]);
    expect(await pipelined(3, far)).toBe(3);
  });

  it("hands each turn to its opener's waitUntil as it opens, until the turn is answered", async () => {
    const replies: Array<() => void> = [];
    const pipelined = pipelining(async (items: number[]) => {
      await new Promise<void>((resolve) => replies.push(resolve));
      return items.map((item): PromiseSettledResult<number> => ({ status: "fulfilled", value: item }));
    }, 2);
    const kept: Array<{ name: string; settled: boolean }> = [];
    const context = (name: string) => ({
      ...far,
      waitUntil: (promise: Promise<unknown>) => {
        const entry = { name, settled: false };
        kept.push(entry);
        promise.then(() => {
          entry.settled = true;
        });
      },
    });
    // a and b share a turn, which a opened; at most two a turn, so c opens the next.
    const answers = Promise.all(["a", "b", "c"].map((name, i) => pipelined(i, context(name))));
    expect(kept).toEqual([
      { name: "a", settled: false },
      { name: "c", settled: false },
    ]);
    await turnEnds();
    expect(kept.some((entry) => entry.settled)).toBe(false);
    for (const reply of replies) reply();
    expect(await answers).toEqual([0, 1, 2]);
    await nextTurn();
    expect(kept.every((entry) => entry.settled)).toBe(true);
  });

  it("keeps a turn in waitUntil no longer than the latest deadline of its calls", async () => {
    const pipelined = pipelining<number, number>(() => new Promise(() => {}), 10);
    const kept: Promise<unknown>[] = [];
    const waitUntil = (promise: Promise<unknown>) => kept.push(promise);
    const started = Date.now();
    void pipelined(1, { deadlineAt: started + 20, waitUntil });
    void pipelined(2, { deadlineAt: started + 60, waitUntil });
    await nextTurn();
    expect(kept).toHaveLength(1);
    await kept[0];
    expect(Date.now() - started).toBeGreaterThanOrEqual(59);
  });

  it("keeps a failed turn's waitUntil from rejecting", async () => {
    const kept: Promise<unknown>[] = [];
    const pipelined = pipelining<number, number>(async () => {
      throw new Error("down");
    }, 10);
    const waitUntil = (promise: Promise<unknown>) => kept.push(promise);
    const calls = Promise.allSettled([1, 2].map((item) => pipelined(item, { ...far, waitUntil })));
    expect((await calls).map((outcome) => outcome.status)).toEqual(["rejected", "rejected"]);
    await expect(kept[0]).resolves.toBeUndefined();
  });
});
