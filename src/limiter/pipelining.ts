import { type BatchContext, endOfTurn } from "./batches.ts";

interface Turn<In, Out> {
  items: In[];
  /** The latest deadline of its calls: none waits for the turn past it. */
  deadlineAt: number;
  /** Each item's outcome, in order, once the turn is sent and answered. */
  outcomes: PromiseWithResolvers<PromiseSettledResult<Out>[]>;
}

/**
 * Sends the calls that the isolate's requests make in one turn of the event loop together, with one
 * `send`: for the REST endpoint, one HTTP request (`/pipeline`) instead of one each. workerd runs the
 * requests that are ready back to back, each until it waits on I/O, so under load the calls of
 * many requests share one request's cost (most of a decision's CPU time is the subrequest's:
 * npm run bench:instructions); alone, a call goes out once its own turn ends, with nothing to wait
 * for. It never waits for a reply before sending: unlike a bucket's batches (batches.ts), it costs
 * no round trip.
 *
 * A turn ends in a timer of 0 ms set by a timer of 0 ms. workerd fires a timer once the events
 * already due have run, so the turn takes the calls of the requests that ran meanwhile, and then
 * those made in the timers already due when its first timer fires: the batches made in the same
 * turn, which batches.ts sends at its end when they may take more members. So a bucket's opening
 * call and the call beside it, made as a burst comes in, go in one pipeline in the order they were
 * made, and Redis runs them in that order. The turn is sent from the request that opened it (the
 * timers are that request's), and workerd cancels a request's timers and I/O when the request ends
 * (its deadline passed, its client left): so the opener hands the turn to its `waitUntil` as it opens
 * it, until the turn is answered or the latest deadline of its calls has passed, whichever comes
 * first.
 *
 * @example
 * const pipelined = pipelining(async (calls) => Promise.allSettled(calls.map(runAlone)), 100);
 * const reply = await pipelined(call, { deadlineAt: Date.now() + 1000, waitUntil });
 */
export function pipelining<In, Out>(
  /** Sends a turn's items, answering one outcome per item, in order; a throw fails them all. */
  send: (items: In[]) => Promise<PromiseSettledResult<Out>[]>,
  /** Most items in one send; more in one turn open another. */
  maxItems: number,
) {
  let open: Turn<In, Out> | undefined;

  function openTurn({ deadlineAt, waitUntil }: BatchContext): Turn<In, Out> {
    const turn: Turn<In, Out> = { items: [], deadlineAt, outcomes: Promise.withResolvers() };
    const kept = Promise.withResolvers<unknown>();
    waitUntil?.(kept.promise);
    endOfTurn()
      .then(endOfTurn)
      .then(() => {
        if (open === turn) open = undefined;
        const sent = send(turn.items).then(turn.outcomes.resolve, turn.outcomes.reject);
        settledBy(sent, turn.deadlineAt).then(kept.resolve);
      });
    return turn;
  }

  return async function pipelined(item: In, context: BatchContext): Promise<Out> {
    if (open === undefined || open.items.length >= maxItems) open = openTurn(context);
    const turn = open;
    turn.deadlineAt = Math.max(turn.deadlineAt, context.deadlineAt);
    const at = turn.items.push(item) - 1;
    const outcome = (await turn.outcomes.promise)[at];
    if (outcome === undefined) throw new Error(`no outcome for item ${at} of ${turn.items.length}`);
    if (outcome.status === "rejected") throw outcome.reason;
    return outcome.value;
  };
}

/** Settles when `work` does, or once `deadlineAt` has passed: what a `waitUntil` may keep alive. */
function settledBy(work: Promise<unknown>, deadlineAt: number): Promise<unknown> {
  const { promise: deadline, resolve } = Promise.withResolvers<void>();
  const timer = setTimeout(resolve, deadlineAt - Date.now());
  return Promise.race([work, deadline]).finally(() => clearTimeout(timer));
}
