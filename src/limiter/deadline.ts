/** When a decision must be answered, and how often a failed call is tried again before then. */
export interface DeadlineOptions {
  /** Unix ms by which the answer is due, whatever happens. */
  deadlineAt: number;
  /** Attempts after the first, each only for an error `isRetryable` accepts. */
  retries: number;
  isRetryable: (error: unknown) => boolean;
}

/** Redis did not answer before the deadline. */
export class DeadlineExceededError extends Error {
  override name = "DeadlineExceededError";
  constructor() {
    super("no answer from Redis before the deadline");
  }
}

/** Short growing pauses between attempts: 20, 40, 80, then 160 ms. */
const backoffMs = (retry: number) => Math.min(20 * 2 ** retry, 160);

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/**
 * Runs `attempt` (told how many attempts came before it), and again after a short pause when it
 * fails with a retryable error, up to `retries` more times, all before `deadlineAt`. The race settles at the deadline even if an
 * attempt hangs, so a stuck Redis cannot hold a request past it. Retrying is safe for the bucket
 * because every attempt of one call carries the same call id (see token-bucket-script.ts).
 */
export async function withDeadline<T>(
  attempt: (retry: number) => Promise<T>,
  { deadlineAt, retries, isRetryable }: DeadlineOptions,
): Promise<T> {
  const timeLeft = () => deadlineAt - Date.now();
  if (timeLeft() <= 0) throw new DeadlineExceededError();
  const { promise: expired, reject: expire } = Promise.withResolvers<never>();
  const timer = setTimeout(() => expire(new DeadlineExceededError()), timeLeft());
  const attempts = (async () => {
    for (let retry = 0; ; retry++) {
      try {
        return await attempt(retry);
      } catch (error) {
        const pause = backoffMs(retry);
        if (retry >= retries || !isRetryable(error) || pause >= timeLeft()) throw error;
        await sleep(pause);
      }
    }
  })();
  try {
    return await Promise.race([attempts, expired]);
  } finally {
    clearTimeout(timer);
    // Whichever lost the race must not surface as an unhandled rejection.
    attempts.catch(() => {});
    expired.catch(() => {});
  }
}
