/** How long one decision may take, and how often a failed call is tried again within that time. */
export interface DeadlineOptions {
  timeoutMs: number;
  retries: number;
}

/** Short growing pauses between attempts: 20, 40, 80, then 160 ms. */
const backoffMs = (retry: number) => Math.min(20 * 2 ** retry, 160);

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/**
 * Runs `attempt`, and again after a short pause when it fails, up to `retries` more times, all
 * within `timeoutMs`. The signal aborts the attempt in flight at the deadline, and the race
 * settles at the deadline even if an attempt ignores its signal, so a hanging Redis cannot hold
 * a request longer than the deadline.
 */
export async function withDeadline<T>(
  attempt: (signal: AbortSignal) => Promise<T>,
  { timeoutMs, retries }: DeadlineOptions,
): Promise<T> {
  const signal = AbortSignal.timeout(timeoutMs);
  const expired = new Promise<never>((_, reject) => {
    signal.addEventListener("abort", () => reject(signal.reason), { once: true });
  });
  const attempts = (async () => {
    for (let retry = 0; ; retry++) {
      try {
        return await attempt(signal);
      } catch (error) {
        if (retry >= retries || signal.aborted) throw error;
        await sleep(backoffMs(retry));
      }
    }
  })();
  return Promise.race([attempts, expired]);
}
