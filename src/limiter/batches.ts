import { DeadlineExceededError } from "./deadline.ts";

/** Keeps a promise's work going after the request that started it has answered (`ctx.waitUntil`). */
export type WaitUntil = (promise: Promise<unknown>) => void;

/** What a batch is sent with: the latest deadline of its members, and its sender's `waitUntil`. */
export interface BatchContext {
  deadlineAt: number;
  waitUntil?: WaitUntil;
}

interface Member<In, Out> {
  item: In;
  deadlineAt: number;
  waitUntil?: WaitUntil;
  /** Whether it went out in a batch (it then waits only for that batch's outcome). */
  sent: boolean;
  /** Resolved when the batch out for its key settles, so that it may send the next: made in its own request. */
  woken: PromiseWithResolvers<void>;
  /** Its outcome, from the batch it was sent in. */
  result: PromiseWithResolvers<Out>;
}

interface Queue<In, Out> {
  /** Members not sent yet, oldest first. */
  waiting: Member<In, Out>[];
  /** Whether a batch for the key is out (or about to go, `open`). */
  out: boolean;
  /**
   * The key's batch until it is sent, at the end of the turn it was made in: work that comes by then
   * joins it.
   */
  open?: Member<In, Out>[];
}

/**
 * Decides concurrent work on one key in batches, with at most one batch in flight per key: a batch
 * is sent at the end of the turn it was made in, so the work that workerd runs in that turn (the
 * rest of a burst) goes in it; work that arrives while it is out waits, and goes out with the rest
 * of the waiting work as the next batch. A burst on one bucket thus shares a call or two rather than
 * making one each, and never queues behind itself. (A full batch, such as an opening call's of one
 * member, goes at once.)
 *
 * Each member gives up at its own deadline, never sooner and never later, wherever it is: in the
 * queue, or in a batch that is out. A batch is sent under the latest deadline of its members, so one
 * member's spent time never fails the others; a member alone in a batch sent at once needs no timer
 * of its own, since the call's deadline is its own.
 *
 * Three workerd rules shape it:
 * - A request's pending work is cancelled when that request ends (its client hung up), a retry's
 *   pause included, and then the call would never settle. So each batch is sent from a request that
 *   waits on it, which hands the call to its `waitUntil`: the call's own members count on it, and so
 *   does every request that comes while it is out, since the key is busy until it settles.
 * - A promise's continuations run in the request that made it, and are dropped when that request is
 *   gone (a client that hung up). So no one member is told to send the next batch, which would stall
 *   the key for good if its request were gone: when a batch settles, every waiting member is woken in
 *   its own request, and the first to run sends the rest. Members whose requests are gone never run;
 *   the next batch carries them only until their deadline.
 * - A request that waits only on a promise another request will settle looks hung and is cancelled,
 *   so every waiting member also waits on its own deadline timer.
 */
export class Batches<In, Out> {
  readonly #queues = new Map<string, Queue<In, Out>>();
  readonly #send: (key: string, items: In[], context: BatchContext) => Promise<Out[]>;
  readonly #maxBatch: number;
  readonly #answerWaited: (key: string, item: In) => Out | undefined;

  /**
   * `send` decides a batch, answering one output per input, in order. `answerWaited` answers a member
   * that waited, once the batch before it settles, when what came back lets it (undefined: it goes
   * in the next batch); one it answers is answered at once, not after the next batch.
   */
  constructor(
    send: (key: string, items: In[], context: BatchContext) => Promise<Out[]>,
    maxBatch: number,
    answerWaited: (key: string, item: In) => Out | undefined = () => undefined,
  ) {
    this.#send = send;
    this.#maxBatch = maxBatch;
    this.#answerWaited = answerWaited;
  }

  /** Whether a batch for `key` is out: new work on it will wait for its reply first. */
  busy(key: string): boolean {
    return this.#queues.get(key)?.out === true;
  }

  /** Decides `item` in the next batch for `key`; rejects with `DeadlineExceededError` at `deadlineAt`. */
  async submit(key: string, item: In, deadlineAt: number, waitUntil?: WaitUntil): Promise<Out> {
    const member: Member<In, Out> = {
      item,
      deadlineAt,
      waitUntil,
      sent: false,
      woken: Promise.withResolvers(),
      result: Promise.withResolvers(),
    };
    // A member that gave up is not listening for the outcome of the batch it was sent in.
    member.result.promise.catch(() => {});
    let queue = this.#queues.get(key);
    if (queue === undefined) {
      queue = { waiting: [], out: false };
      this.#queues.set(key, queue);
    }
    if (queue.open !== undefined && queue.open.length < this.#maxBatch) {
      queue.open.push(member);
      member.sent = true;
    } else {
      queue.waiting.push(member);
      // Alone in a batch sent at once, under its own deadline, which the call keeps: no timer or race
      // of its own (about 2% of a spread request's instructions, npm run bench:instructions). A batch
      // still open may take others, whose deadlines are later.
      if (!queue.out && this.#sendNext(key, queue, member)) return member.result.promise;
    }

    const expired = Promise.withResolvers<never>();
    expired.promise.catch(() => {});
    const timer = setTimeout(() => expired.reject(new DeadlineExceededError()), deadlineAt - Date.now());
    try {
      while (!member.sent) {
        await Promise.race([member.woken.promise, expired.promise]);
        if (member.sent) break;
        // Re-armed before anything else runs, so no settling batch can wake the old promise unseen.
        member.woken = Promise.withResolvers();
        if (!queue.out) this.#sendNext(key, queue, member, true);
      }
      return await Promise.race([member.result.promise, expired.promise]);
    } catch (error) {
      if (!member.sent) this.#leave(key, queue, member);
      throw error;
    } finally {
      clearTimeout(timer);
    }
  }

  /** Answers `member` with what `answerWaited` says, if it says anything; whether it did. */
  #answered(key: string, member: Member<In, Out>): boolean {
    const answer = this.#answerWaited(key, member.item);
    if (answer === undefined) return false;
    member.sent = true;
    member.result.resolve(answer);
    return true;
  }

  /** A member gives up before it was sent: out of the queue, and the queue gone once it is idle. */
  #leave(key: string, queue: Queue<In, Out>, member: Member<In, Out>) {
    const at = queue.waiting.indexOf(member);
    if (at !== -1) queue.waiting.splice(at, 1);
    this.#dropIfIdle(key, queue);
  }

  /** Forgets `queue` once nothing is out or waiting on it (unless `key` already has a newer one). */
  #dropIfIdle(key: string, queue: Queue<In, Out>) {
    if (!queue.out && queue.waiting.length === 0 && this.#queues.get(key) === queue) this.#queues.delete(key);
  }

  /**
   * Makes the oldest waiting members one batch, from `sender`'s request, and settles each with its
   * outcome. After a batch settled (`waited`), the members `answerWaited` can answer from what came
   * back are answered at once, and go in no batch. A batch that may take more members stays open
   * until the end of the turn, when it is sent: the rest of a burst, which workerd runs in that turn,
   * goes in it rather than in a batch after its reply. A full one goes at once. Whether `sender` went
   * alone, in a batch sent at once.
   */
  #sendNext(key: string, queue: Queue<In, Out>, sender: Member<In, Out>, waited = false): boolean {
    const now = Date.now();
    let live = queue.waiting.filter((member) => member.deadlineAt > now);
    if (waited) live = live.filter((member) => !this.#answered(key, member));
    const batch = live.splice(0, this.#maxBatch);
    queue.waiting = live;
    if (batch.length === 0) {
      this.#dropIfIdle(key, queue);
      return false;
    }
    queue.out = true;
    for (const member of batch) member.sent = true;
    const full = batch.length === this.#maxBatch;
    let call: Promise<void>;
    if (full) call = this.#dispatch(key, queue, batch, sender);
    else {
      queue.open = batch;
      call = endOfTurn().then(() => {
        queue.open = undefined;
        return this.#dispatch(key, queue, batch, sender);
      });
    }
    // Others count on this call, or will: it must outlive the sender's request.
    sender.waitUntil?.(call);
    return full && batch.length === 1 && batch[0] === sender;
  }

  /**
   * Sends `batch` and settles each member with its outcome; members past their deadline have given up
   * (or their requests are gone) and are dropped, never charged. Once it settles, what still waits is
   * woken, or the queue is gone.
   */
  async #dispatch(key: string, queue: Queue<In, Out>, batch: Member<In, Out>[], sender: Member<In, Out>) {
    const now = Date.now();
    const live = batch.filter((member) => member.deadlineAt > now);
    try {
      if (live.length === 0) return;
      const context = {
        deadlineAt: Math.max(...live.map((member) => member.deadlineAt)),
        waitUntil: sender.waitUntil,
      };
      const items = live.map((member) => member.item);
      try {
        const outcomes = await this.#send(key, items, context);
        for (const [i, member] of live.entries()) member.result.resolve(outcomes[i] as Out);
      } catch (error) {
        for (const member of live) member.result.reject(error);
      }
    } finally {
      queue.out = false;
      this.#dropIfIdle(key, queue);
      for (const member of queue.waiting) member.woken.resolve();
    }
  }
}

/** Settles once the events already due have run: workerd runs a burst's requests before it. */
export const endOfTurn = () => new Promise<void>((resolve) => setTimeout(resolve, 0));
