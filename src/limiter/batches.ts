import { DeadlineExceededError } from "./deadline.ts";

interface Member<In, Out> {
  item: In;
  /** Waiting in the queue; told to lead the next batch; or sent in a batch. */
  state: "waiting" | "leading" | "sent";
  resolve: (outcome: Out | typeof LEAD) => void;
  reject: (error: unknown) => void;
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
 * Two workerd rules shape it. A request's pending I/O is cancelled when that request ends, so
 * each batch is sent by one of its own members (the one that waited longest). And a request that
 * waits only on a promise another request will settle looks hung and is cancelled, so every
 * waiting member also waits on its own deadline timer: it gives up at its deadline, never later.
 */
export class Batches<In, Out> {
  readonly #queues = new Map<string, Queue<In, Out>>();
  readonly #send: (key: string, items: In[]) => Promise<Out[]>;
  readonly #maxBatch: number;

  /** `send` decides a batch, answering one output per input, in order. */
  constructor(send: (key: string, items: In[]) => Promise<Out[]>, maxBatch: number) {
    this.#send = send;
    this.#maxBatch = maxBatch;
  }

  /** Decides `item` in the next batch for `key`; rejects with `DeadlineExceededError` at `deadlineAt`. */
  async submit(key: string, item: In, deadlineAt: number): Promise<Out> {
    const { promise, resolve, reject } = Promise.withResolvers<Out | typeof LEAD>();
    const member: Member<In, Out> = { item, state: "waiting", resolve, reject };
    let queue = this.#queues.get(key);
    if (queue === undefined) {
      queue = { waiting: [member] };
      this.#queues.set(key, queue);
      member.state = "leading";
      return this.#lead(key, queue, member);
    }
    queue.waiting.push(member);

    const expired = Promise.withResolvers<never>();
    const timer = setTimeout(() => expired.reject(new DeadlineExceededError()), deadlineAt - Date.now());
    let outcome: Out | typeof LEAD;
    try {
      outcome = await Promise.race([promise, expired.promise]);
    } catch (error) {
      if (member.state !== "sent") this.#leave(key, queue, member);
      throw error;
    } finally {
      clearTimeout(timer);
    }
    return outcome === LEAD ? this.#lead(key, queue, member) : outcome;
  }

  /** A member gives up before it was sent: out of the queue, passing the lead on if it had it. */
  #leave(key: string, queue: Queue<In, Out>, member: Member<In, Out>) {
    queue.waiting.splice(queue.waiting.indexOf(member), 1);
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
    next.resolve(LEAD);
  }

  async #lead(key: string, queue: Queue<In, Out>, leader: Member<In, Out>): Promise<Out> {
    const batch = queue.waiting.splice(0, this.#maxBatch);
    for (const member of batch) member.state = "sent";
    try {
      const outcomes = await this.#send(
        key,
        batch.map((member) => member.item),
      );
      for (const [i, member] of batch.entries()) if (member !== leader) member.resolve(outcomes[i] as Out);
      return outcomes[batch.indexOf(leader)] as Out;
    } catch (error) {
      for (const member of batch) if (member !== leader) member.reject(error);
      throw error;
    } finally {
      this.#handOff(key, queue);
    }
  }
}
