import { describe, expect, it } from "vitest";
import { Batches } from "../../src/limiter/batches.ts";
import { DeadlineExceededError } from "../../src/limiter/deadline.ts";

const far = Date.now() + 60_000;

/** Lets the turn end: a batch still open (one that may take more members) is sent. */
const endOfTurn = () => new Promise((resolve) => setTimeout(resolve, 0));

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

/**
 * Submits `item` as a request that is gone by the time the batch out for its key settles: in workerd,
 * a promise made in a request whose client hung up never runs its continuations again, whoever settles
 * it ("Continuations for that request ... have been canceled"). Here every promise its submit makes
 * ignores being settled, which is what the rest of the batch sees of it.
 */
function submitGone(batches: Batches<number, number>, key: string, item: number, deadlineAt: number) {
  const withResolvers = Promise.withResolvers;
  Promise.withResolvers = <T>() => {
    const { promise } = withResolvers.call(Promise) as PromiseWithResolvers<T>;
    return { promise, resolve: () => {}, reject: () => {} };
  };
  try {
    batches.submit(key, item, deadlineAt).catch(() => {});
  } finally {
    Promise.withResolvers = withResolvers;
  }
}

describe("batches", () => {
  it("sends work that arrives while a batch is out as one next batch, in order", async () => {
    const { sent, send, release } = gatedSender();
    const batches = new Batches(send, 100);
    const first = batches.submit("k", 1, far);
    await endOfTurn();
    const answers = Promise.all([first, ...[2, 3, 4].map((item) => batches.submit("k", item, far))]);
    await release();
    await release();
    expect(await answers).toEqual([10, 20, 30, 40]);
    expect(sent).toEqual([[1], [2, 3, 4]]);
  });

  it("answers a waiting member at once when what came back settles it, and sends only the rest", async () => {
    const { sent, send, release } = gatedSender();
    // What the first batch's reply teaches: item 2 needs no call of its own.
    let learnt = false;
    const learning = async (key: string, items: number[]) => {
      const outcomes = await send(key, items);
      learnt = true;
      return outcomes;
    };
    const batches = new Batches(learning, 100, (_key, item: number) =>
      learnt && item === 2 ? -2 : undefined,
    );
    const first = batches.submit("k", 1, far);
    await endOfTurn();
    const settled: number[] = [];
    const queued = [2, 3].map((item) =>
      batches.submit("k", item, far).then((answer) => settled.push(answer)),
    );
    await release();
    expect(await first).toBe(10);
    await endOfTurn();
    // The next batch is out, and not answered yet: item 2 did not wait for it.
    expect(settled).toEqual([-2]);
    expect(sent).toEqual([[1], [3]]);
    await release();
    await Promise.all(queued);
    expect(settled).toEqual([-2, 30]);
  });

  it("keeps keys apart", async () => {
    const { sent, send, release } = gatedSender();
    const batches = new Batches(send, 100);
    const answers = Promise.all([batches.submit("a", 1, far), batches.submit("b", 2, far)]);
    await release();
    await release();
    expect(await answers).toEqual([10, 20]);
    expect(sent).toEqual([[1], [2]]);
  });

  it("splits a long queue into batches of at most the bound", async () => {
    const { sent, send, release } = gatedSender();
    const batches = new Batches(send, 2);
    const answers = Promise.all([1, 2, 3, 4, 5].map((item) => batches.submit("k", item, far)));
    for (let i = 0; i < 3; i++) await release();
    expect(await answers).toEqual([10, 20, 30, 40, 50]);
    expect(sent).toEqual([[1, 2], [3, 4], [5]]);
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
    const first = batches.submit("k", 1, far);
    await endOfTurn();
    const queued = [batches.submit("k", 2, far), batches.submit("k", 3, far)];
    await expect(first).rejects.toThrow("down");
    expect(await Promise.all(queued)).toEqual([2, 3]);
  });

  it("lets a waiting member give up at its deadline, never sending it, and goes on without it", async () => {
    const { sent, send, release } = gatedSender();
    const batches = new Batches(send, 100);
    const first = batches.submit("k", 1, far);
    await endOfTurn();
    const late = batches.submit("k", 2, Date.now() + 20);
    const patient = batches.submit("k", 3, far);
    await expect(late).rejects.toThrow(DeadlineExceededError);
    await release();
    await release();
    expect(await Promise.all([first, patient])).toEqual([10, 30]);
    expect(sent).toEqual([[1], [3]]);
  });

  it("sends a batch under its latest deadline, so members with time left outlive a leader whose time ran out", async () => {
    const deadlines: number[] = [];
    const { sent, send, release } = gatedSender();
    const batches = new Batches<number, number>((key, items, context) => {
      deadlines.push(context.deadlineAt);
      return send(key, items);
    }, 100);
    const kept: Promise<unknown>[] = [];
    const first = batches.submit("k", 1, far);
    await endOfTurn();
    const soon = Date.now() + 40;
    const later = Date.now() + 60_000;
    // Both queue behind the first call; the hurried one waited longest, so it leads the next batch.
    const leader = batches.submit("k", 2, soon, (call) => kept.push(call));
    const member = batches.submit("k", 3, later);
    await release();
    expect(await first).toBe(10);

    // The leader's deadline passes while its call is out; the call goes on for the member.
    await expect(leader).rejects.toThrow(DeadlineExceededError);
    await release();
    expect(await member).toBe(30);
    expect(sent).toEqual([[1], [2, 3]]);
    expect(deadlines).toEqual([far, later]);
    expect(kept).toHaveLength(1);
  });

  it("hands a call to its sender's waitUntil even when the sender is alone in it", async () => {
    // In workerd a request that ends (its client hung up) takes its unfinished work with it, a retry's
    // pause included: a call not kept would never settle, and leave the key busy for good.
    const { send, release } = gatedSender();
    const batches = new Batches(send, 100);
    const kept: Promise<unknown>[] = [];
    const first = batches.submit("k", 1, far, (call) => kept.push(call));
    // Handed over as the batch is made: the timer that sends it at the end of the turn is the sender's too.
    expect(kept).toHaveLength(1);
    await endOfTurn();
    // Not in the call, but waiting for it to settle.
    const next = batches.submit("k", 2, far);
    expect(kept).toHaveLength(1);
    await release();
    await release();
    expect(await Promise.all([first, next])).toEqual([10, 20]);
    await expect(kept[0]).resolves.toBeUndefined();
  });

  it("fails no member for the time another spent in the queue", async () => {
    const { send, release } = gatedSender();
    const batches = new Batches(send, 100);
    const first = batches.submit("k", 1, far);
    await endOfTurn();
    // Queued behind the first call, with little time: it gives up alone.
    const hurried = batches.submit("k", 2, Date.now() + 20);
    const patient = batches.submit("k", 3, far);
    await expect(hurried).rejects.toThrow(DeadlineExceededError);
    await release();
    await release();
    expect(await Promise.all([first, patient])).toEqual([10, 30]);
  });

  it("takes work that comes before the end of the turn into the batch made in it, up to the bound", async () => {
    // The rest of a burst, which workerd runs in the turn its first request opened the batch in, goes
    // in that batch rather than in one after its reply: one round trip for all, not two.
    const { sent, send, release } = gatedSender();
    const batches = new Batches(send, 3);
    const answers = Promise.all([1, 2, 3, 4].map((item) => batches.submit("k", item, far)));
    await release();
    await release();
    expect(await answers).toEqual([10, 20, 30, 40]);
    expect(sent).toEqual([[1, 2, 3], [4]]);
  });

  it("sends a batch that can take no one else at once, in the turn its member came", () => {
    const sent: number[][] = [];
    const batches = new Batches<number, number>(async (_key, items) => {
      sent.push(items);
      return items;
    }, 1);
    batches.submit("k", 1, far);
    expect(sent).toEqual([[1]]);
  });

  it("lets a member that joined an open batch give up at its own deadline, and answers the others", async () => {
    const { sent, send, release } = gatedSender();
    const batches = new Batches(send, 100);
    const first = batches.submit("k", 1, far);
    const hurried = batches.submit("k", 2, Date.now() + 20);
    await expect(hurried).rejects.toThrow(DeadlineExceededError);
    await release();
    expect(await first).toBe(10);
    expect(sent).toEqual([[1, 2]]);
  });

  it("never sends a member whose deadline passed before its open batch was sent", async () => {
    const { sent, send, release } = gatedSender();
    const batches = new Batches(send, 100);
    const first = batches.submit("k", 1, far);
    const late = batches.submit("k", 2, Date.now() + 1);
    // The turn outlasts the joiner's deadline.
    const until = Date.now() + 5;
    while (Date.now() < until);
    await expect(late).rejects.toThrow(DeadlineExceededError);
    await release();
    expect(await first).toBe(10);
    expect(sent).toEqual([[1]]);
  });

  describe("when a waiting member's request is gone", () => {
    it("sends the next batch from a member that is still there, the gone one's work with it", async () => {
      const { sent, send, release } = gatedSender();
      const batches = new Batches(send, 100);
      const first = batches.submit("k", 1, far);
      await endOfTurn();
      // It has waited longest: told alone to send the next batch, it would never send it.
      submitGone(batches, "k", 2, far);
      const patient = batches.submit("k", 3, Date.now() + 2000);
      await release();
      expect(await first).toBe(10);
      await release();
      expect(await patient).toBe(30);
      expect(sent).toEqual([[1], [2, 3]]);
    });

    it("sends at once for the next request when every waiting member is gone", async () => {
      const { sent, send, release } = gatedSender();
      const batches = new Batches(send, 100);
      const first = batches.submit("k", 1, far);
      await endOfTurn();
      submitGone(batches, "k", 2, far);
      await release();
      expect(await first).toBe(10);
      expect(batches.busy("k")).toBe(false);

      const next = batches.submit("k", 3, Date.now() + 2000);
      await release();
      expect(await next).toBe(30);
      expect(sent).toEqual([[1], [2, 3]]);
    });

    it("never sends the work of a gone member whose deadline has passed", async () => {
      const { sent, send, release } = gatedSender();
      const batches = new Batches(send, 100);
      const first = batches.submit("k", 1, far);
      await endOfTurn();
      submitGone(batches, "k", 2, Date.now() + 20);
      const patient = batches.submit("k", 3, far);
      await new Promise((resolve) => setTimeout(resolve, 40));
      await release();
      await release();
      expect(await Promise.all([first, patient])).toEqual([10, 30]);
      expect(sent).toEqual([[1], [3]]);
    });
  });
});
