import { DeadlineExceededError } from "./deadline.ts";

/** Keeps a promise's work going after the request that started it has answered (`ctx.waitUntil`). */
export type WaitUntil = (promise: Promise<unknown>) => void;

/** What a batch is sent with: the latest deadline of its members, and its leader's `waitUntil`. */
export interface BatchContext {
  deadlineAt: number;
  waitUntil?: WaitUntil;
}

interface Member<In, Out> {
  item: In;
  deadlineAt: number;
  waitUntil?: WaitUntil;
  /** Waiting in the queue; told to lead the next batch; or sent in a batch. */
  state: "waiting" | "leading" | "sent";
  /** Resolved when this member is to send the next batch, from its own request. */
  lead: PromiseWithResolvers<typeof LEAD>;
  /** Its outcome, from the batch it was sent in. */
  result: PromiseWithResolvers<Out>;
}

interface Queue<In, Out> {
  waiting: Member<In, Out>[];
}

/** Tells a waiting member that it sends the next batch. */
const LEAD = Symbol("lead");

/**
 * Decides concurrent work on one key in batches, with at most one batch in flight per key: work
 * that arrives while a batch is out waits, and goes out with the rest of the waiting work as the
 * next batch. A burst on one bucket thus costs a couple of round trips instead of one each, and
 * never queues behind itself.
 *
 * Each member gives up at its own deadline, never sooner and never later, wherever it is: in the
 * queue, leading, or in a batch that is out. A batch is sent under the latest deadline of its
 * members, so one member's spent time never fails the others; a member alone in its batch needs no
 * timer of its own, since the call's deadline is its own.
 *
 * Two workerd rules shape it. A request's pending I/O is cancelled when that request ends, so
 * each batch is sent by one of its own members (the one that waited longest), which hands the call
 * to its `waitUntil` so that it outlives the leader if the leader gives up first. And a request that
 * waits only on a promise another request will settle looks hung and is cancelled, so every member
 * also waits on its own deadline timer.
 */
export class Batches<In, Out> {
  readonly #queues = new Map<string, Queue<In, Out>>();
  readonly #send: (key: string, items: In[], context: BatchContext) => Promise<Out[]>;
  readonly #maxBatch: number;

  /** `send` decides a batch, answering one output per input, in order. */
  constructor(send: (key: string, items: In[], context: BatchContext) => Promise<Out[]>, maxBatch: number) {
    this.#send = send;
    this.#maxBatch = maxBatch;
  }

  /** Whether a batch for `key` is out or waiting: new work on it will wait for a reply first. */
  busy(key: string): boolean {
    return this.#queues.has(key);
  }

  /** Decides `item` in the next batch for `key`; rejects with `DeadlineExceededError` at `deadlineAt`. */
  async submit(key: string, item: In, deadlineAt: number, waitUntil?: WaitUntil): Promise<Out> {
    const member: Member<In, Out> = {
      item,
      deadlineAt,
      waitUntil,
      state: "waiting",
      lead: Promise.withResolvers(),
      result: Promise.withResolvers(),
    };
    // A member that gave up is not listening for the outcome of the batch it was sent in.
    member.result.promise.catch(() => {});
    let queue = this.#queues.get(key);
    if (queue === undefined) {
      // Alone: its batch is itself, sent now under its own deadline, which the call keeps; no timer
      // or race of its own (about 2% of a spread request's instructions, npm run bench:instructions).
      queue = { waiting: [member] };
      this.#queues.set(key, queue);
      member.state = "leading";
      this.#lead(key, queue, member);
      return member.result.promise;
    }
    queue.waiting.push(member);

    const expired = Promise.withResolvers<never>();
    expired.promise.catch(() => {});
    const timer = setTimeout(() => expired.reject(new DeadlineExceededError()), deadlineAt - Date.now());
    try {
      if (member.state === "waiting") {
        const told = await Promise.race([member.lead.promise, member.result.promise, expired.promise]);
        if (told === LEAD) this.#lead(key, queue, member);
      }
      return await Promise.race([member.result.promise, expired.promise]);
    } catch (error) {
      if (member.state !== "sent") this.#leave(key, queue, member);
      throw error;
    } finally {
      clearTimeout(timer);
    }
  }

  /** A member gives up before it was sent: out of the queue, passing the lead on if it had it. */
  #leave(key: string, queue: Queue<In, Out>, member: Member<In, Out>) {
    const at = queue.waiting.indexOf(member);
    if (at !== -1) queue.waiting.splice(at, 1);
    if (member.state === "leading") this.#handOff(key, queue);
  }

  /** The next batch is sent by the member that has waited longest, or there is no next batch. */
  #handOff(key: string, queue: Queue<In, Out>) {
    const next = queue.waiting[0];
    if (next === undefined) {
      this.#queues.delete(key);
      return;
    }
    next.state = "leading";
    next.lead.resolve(LEAD);
  }

  /** Sends the waiting members, the leader first, as one batch, and settles each with its outcome. */
  #lead(key: string, queue: Queue<In, Out>, leader: Member<In, Out>): void {
    const batch = queue.waiting.splice(0, this.#maxBatch);
    for (const member of batch) member.state = "sent";
    const context = {
      deadlineAt: Math.max(...batch.map((member) => member.deadlineAt)),
      waitUntil: leader.waitUntil,
    };
    const call = this.#send(
      key,
      batch.map((member) => member.item),
      context,
    )
      .then(
        (outcomes) => {
          for (const [i, member] of batch.entries()) member.result.resolve(outcomes[i] as Out);
        },
        (error: unknown) => {
          for (const member of batch) member.result.reject(error);
        },
      )
      .finally(() => this.#handOff(key, queue));
    // Others count on this call: it must outlive the leader, should the leader's deadline come first.
    if (batch.length > 1) leader.waitUntil?.(call);
  }
}
