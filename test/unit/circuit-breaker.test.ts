import { describe, expect, it } from "vitest";
import { CircuitBreaker } from "../../src/limiter/circuit-breaker.ts";
import { createLogger } from "../../src/log.ts";

function breakerAt(start = 0) {
  const clock = { now: start };
  const lines: string[] = [];
  const log = {
    ...createLogger("ERROR"),
    info: (msg: string) => lines.push(msg),
    warning: (msg: string) => lines.push(msg),
  };
  const breaker = new CircuitBreaker(log, {
    cooldownMs: 1000,
    probeMs: 500,
    now: () => clock.now,
    random: () => 0.5,
  });
  return { breaker, clock, lines };
}

describe("circuit breaker", () => {
  it("stays closed through fewer failures in a row than the threshold", () => {
    const { breaker } = breakerAt();
    breaker.failed("x");
    breaker.failed("x");
    breaker.succeeded();
    breaker.failed("x");
    breaker.failed("x");
    expect(breaker.state).toBe("closed");
    expect(breaker.tryAcquire()).toBe(true);
  });

  it("opens after three failed calls in a row and lets no call through while cooling down", () => {
    const { breaker, clock } = breakerAt();
    for (let i = 0; i < 3; i++) breaker.failed("refused");
    expect(breaker.state).toBe("open");
    clock.now = 999;
    expect(breaker.tryAcquire()).toBe(false);
  });

  it("lets exactly one probe through after the cool-down, and closes when it succeeds", () => {
    const { breaker, clock } = breakerAt();
    for (let i = 0; i < 3; i++) breaker.failed("refused");
    clock.now = 1000;
    expect(breaker.state).toBe("half-open");
    expect(breaker.tryAcquire()).toBe(true);
    expect(breaker.tryAcquire()).toBe(false);
    breaker.succeeded();
    expect(breaker.state).toBe("closed");
    expect(breaker.tryAcquire()).toBe(true);
  });

  it("lets another probe through when one has not reported within probeMs", () => {
    // A probe whose request was cancelled (its client hung up) never reports: the circuit must not
    // stay half-open with no call let through, for good.
    const { breaker, clock } = breakerAt();
    for (let i = 0; i < 3; i++) breaker.failed("refused");
    clock.now = 1000;
    expect(breaker.tryAcquire()).toBe(true);
    clock.now = 1499;
    expect(breaker.tryAcquire()).toBe(false);
    clock.now = 1500;
    expect(breaker.tryAcquire()).toBe(true);
    breaker.succeeded();
    expect(breaker.state).toBe("closed");
  });

  it("opens again for another cool-down when the probe fails", () => {
    const { breaker, clock } = breakerAt();
    for (let i = 0; i < 3; i++) breaker.failed("refused");
    clock.now = 1000;
    expect(breaker.tryAcquire()).toBe(true);
    breaker.failed("still refused");
    expect(breaker.state).toBe("open");
    clock.now = 1999;
    expect(breaker.tryAcquire()).toBe(false);
    clock.now = 2000;
    expect(breaker.tryAcquire()).toBe(true);
  });

  it("jitters the cool-down between 0.8 and 1.2 times its length", () => {
    for (const [random, cooldown] of [
      [0, 800],
      [0.999, 1200],
    ] as const) {
      const clock = { now: 0 };
      const breaker = new CircuitBreaker(createLogger("ERROR"), {
        now: () => clock.now,
        random: () => random,
      });
      for (let i = 0; i < 3; i++) breaker.failed("x");
      clock.now = cooldown - 1;
      expect(breaker.state).toBe("open");
      clock.now = cooldown;
      expect(breaker.state).toBe("half-open");
    }
  });

  it("logs each transition once, not each call", () => {
    const { breaker, clock, lines } = breakerAt();
    for (let i = 0; i < 10; i++) breaker.failed("refused");
    for (let i = 0; i < 10; i++) breaker.tryAcquire();
    clock.now = 1000;
    for (let i = 0; i < 10; i++) breaker.tryAcquire();
    breaker.succeeded();
    expect(lines).toEqual([
      "circuit open: Redis is failing, answering by FAIL_MODE without calling it",
      "circuit half-open: probing Redis",
      "circuit closed: Redis answers again",
    ]);
  });
});
