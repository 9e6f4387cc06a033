import type { Logger } from "../log.ts";

export type CircuitState = "closed" | "open" | "half-open";

export interface CircuitBreakerOptions {
  /**
   * Consecutive failed calls that open the circuit.
   * @default 3
   */
  threshold?: number;
  /**
   * Cool-down before a probe is let through, before jitter (0.8x to 1.2x, so isolates that
   * opened together do not probe together).
   * @default 1000
   */
  cooldownMs?: number;
  /**
   * How long a probe may go without reporting before another is let through: longer than any call
   * can take (its deadline). A probe whose request was cancelled (its client hung up) never reports.
   * @default 1000
   */
  probeMs?: number;
  /** The clock, in ms. @default Date.now */
  now?: () => number;
  /** A number in [0, 1) for the jitter. @default Math.random */
  random?: () => number;
}

/**
 * Stops an isolate from calling a Redis that keeps failing. Closed, every call goes through;
 * after `threshold` failed calls in a row it opens: no call at all, so callers get the FAIL_MODE
 * answer at once instead of waiting out a deadline each. After the cool-down it is half-open:
 * one probe at a time goes through, and its success closes the circuit, its failure opens it for
 * another cool-down; a probe that never reports holds the next one back for `probeMs` at most. Each
 * transition is logged once.
 */
export class CircuitBreaker {
  #state: CircuitState = "closed";
  #failures = 0;
  #openUntil = 0;
  /** While a probe is out, until when it holds the next one back. */
  #probingUntil = 0;
  readonly #threshold: number;
  readonly #cooldownMs: number;
  readonly #probeMs: number;
  readonly #now: () => number;
  readonly #random: () => number;
  readonly #log: Logger;

  constructor(log: Logger, options: CircuitBreakerOptions = {}) {
    this.#log = log;
    this.#threshold = options.threshold ?? 3;
    this.#cooldownMs = options.cooldownMs ?? 1000;
    this.#probeMs = options.probeMs ?? 1000;
    this.#now = options.now ?? Date.now;
    this.#random = options.random ?? Math.random;
  }

  /** Where the circuit stands now (an open circuit past its cool-down reads half-open). */
  get state(): CircuitState {
    if (this.#state === "open" && this.#now() >= this.#openUntil) return "half-open";
    return this.#state;
  }

  /**
   * Whether a call may go to Redis now. In half-open, true once, for the probe, until it reports
   * (or `probeMs` has passed).
   */
  tryAcquire(): boolean {
    const state = this.state;
    if (state === "closed") return true;
    if (state === "open" || this.#now() < this.#probingUntil) return false;
    if (this.#state === "open") {
      this.#state = "half-open";
      this.#log.info("circuit half-open: probing Redis");
    }
    this.#probingUntil = this.#now() + this.#probeMs;
    return true;
  }

  /** A call let through by `tryAcquire` succeeded. */
  succeeded(): void {
    this.#failures = 0;
    this.#probingUntil = 0;
    if (this.#state !== "closed") {
      this.#state = "closed";
      this.#log.info("circuit closed: Redis answers again");
    }
  }

  /** A call let through by `tryAcquire` failed. */
  failed(reason: string): void {
    this.#failures++;
    const probeFailed = this.#probingUntil > 0;
    this.#probingUntil = 0;
    if (!probeFailed && this.#failures < this.#threshold) return;
    const cooldownMs = Math.round(this.#cooldownMs * (0.8 + 0.4 * this.#random()));
    this.#openUntil = this.#now() + cooldownMs;
    if (this.#state === "open") return;
    this.#state = "open";
    this.#log.warning("circuit open: Redis is failing, answering by FAIL_MODE without calling it", {
      reason,
      cooldown_ms: cooldownMs,
      failures: this.#failures,
    });
  }
}

/** The circuit is open: Redis was not asked. */
export class CircuitOpenError extends Error {
  override name = "CircuitOpenError";
  constructor() {
    super("circuit open: Redis was failing, not asked");
  }
}
