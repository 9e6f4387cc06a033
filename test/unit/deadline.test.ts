import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { DeadlineExceededError, withDeadline } from "../../src/limiter/deadline.ts";

beforeEach(() => {
  vi.useFakeTimers({ now: 0 });
});
afterEach(() => vi.useRealTimers());

const transient = () => true;

describe("the deadline and its retries", () => {
  it("tries again after 20, 40 and 80 ms, and stops after the last retry", async () => {
    const tries: number[] = [];
    const attempt = () => {
      tries.push(Date.now());
      return Promise.reject(new Error("refused"));
    };
    const result = withDeadline(attempt, { deadlineAt: 1000, retries: 3, isRetryable: transient });
    const settled = expect(result).rejects.toThrow("refused");
    await vi.advanceTimersByTimeAsync(1000);
    await settled;
    expect(tries).toEqual([0, 20, 60, 140]);
  });

  it("does not retry what would fail the same way again", async () => {
    const attempt = vi.fn(() => Promise.reject(new Error("WRONGTYPE")));
    await expect(
      withDeadline(attempt, { deadlineAt: 1000, retries: 3, isRetryable: () => false }),
    ).rejects.toThrow("WRONGTYPE");
    expect(attempt).toHaveBeenCalledTimes(1);
  });

  it("answers at the deadline even when an attempt never settles", async () => {
    const result = withDeadline(() => new Promise(() => {}), {
      deadlineAt: 300,
      retries: 3,
      isRetryable: transient,
    });
    const settled = expect(result).rejects.toThrow(DeadlineExceededError);
    await vi.advanceTimersByTimeAsync(299);
    await vi.advanceTimersByTimeAsync(1);
    await settled;
  });

  it("does not start a pause that would end past the deadline", async () => {
    const attempt = vi.fn(() => Promise.reject(new Error("refused")));
    const result = withDeadline(attempt, { deadlineAt: 50, retries: 3, isRetryable: transient });
    const settled = expect(result).rejects.toThrow("refused");
    await vi.advanceTimersByTimeAsync(50);
    await settled;
    // 0 ms, then 20 ms; a 40 ms pause would end at 60, past the deadline.
    expect(attempt).toHaveBeenCalledTimes(2);
  });

  it("gives up at once when the deadline has already passed", async () => {
    const attempt = vi.fn(() => Promise.resolve("PONG"));
    await expect(
      withDeadline(attempt, { deadlineAt: -1, retries: 3, isRetryable: transient }),
    ).rejects.toThrow(DeadlineExceededError);
    expect(attempt).not.toHaveBeenCalled();
  });
});
