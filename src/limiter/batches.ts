interface Member<In, Out> {
  item: In;
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
 * Each batch is sent by one of its own members, the one that has waited longest. workerd cancels
 * a request's pending I/O when that request ends, so a call must belong to a request that waits
 * for it.
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

  /** Decides `item` in the next batch for `key`. */
  async submit(key: string, item: In): Promise<Out> {
    let queue = this.#queues.get(key);
    const { promise, resolve, reject } = Promise.withResolvers<Out | typeof LEAD>();
    const member = { item, resolve, reject };
    if (queue === undefined) {
      queue = { waiting: [member] };
      this.#queues.set(key, queue);
      return this.#lead(key, queue, member);
    }
    queue.waiting.push(member);
    const outcome = await promise;
    return outcome === LEAD ? this.#lead(key, queue, member) : outcome;
  }

  async #lead(key: string, queue: Queue<In, Out>, leader: Member<In, Out>): Promise<Out> {
    const batch = queue.waiting.splice(0, this.#maxBatch);
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
      const next = queue.waiting[0];
      if (next === undefined) this.#queues.delete(key);
      else next.resolve(LEAD);
    }
  }
}
