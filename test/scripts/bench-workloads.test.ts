/**
 * The bench's workloads (scripts/bench/workloads.ts): the Zipf draws of "zipf" follow Zipf(1.1), the same
 * request always gets the same identifier, and "hot-allowed" and "zipf" run on a tier of the bench's own
 * that users never see and no Worker empties.
 */
import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { ROOMY_TIER } from "../../scripts/bench/bench-tiers.ts";
import { compiledConfigWith } from "../../scripts/bench/builds.ts";
import { identifierAt, parseWorkloads, WORKLOADS } from "../../scripts/bench/workloads.ts";
import { uniformAt, zipfSampler } from "../../scripts/bench/zipf.ts";

const N = 10_000;
const S = 1.1;
const harmonic = Array.from({ length: N }, (_, k) => (k + 1) ** -S).reduce((a, b) => a + b, 0);
const probability = (rank: number) => rank ** -S / harmonic;

describe("the Zipf sampler", () => {
  const sample = zipfSampler(N, S);
  const draws = 200_000;
  const counts = new Map<number, number>();
  for (let i = 0; i < draws; i++) {
    const rank = sample(uniformAt(i));
    counts.set(rank, (counts.get(rank) ?? 0) + 1);
  }
  const share = (rank: number) => (counts.get(rank) ?? 0) / draws;

  it("draws ranks 1 to n, the first for the smallest numbers and the last for the largest", () => {
    expect(Math.min(...counts.keys())).toBe(1);
    expect(Math.max(...counts.keys())).toBeLessThanOrEqual(N);
    expect(sample(0)).toBe(1);
    expect(sample(0.999_999_999)).toBe(N);
  });

  it("gives each of the first ranks its Zipf(1.1) probability, within 3 standard deviations", () => {
    for (const rank of [1, 2, 3, 5, 10, 100]) {
      const p = probability(rank);
      const sd = Math.sqrt((p * (1 - p)) / draws);
      expect(Math.abs(share(rank) - p)).toBeLessThan(3 * sd);
    }
  });

  it("sends most of the traffic from a few identifiers: the top 1% of them send about 65%", () => {
    let expected = 0;
    let measured = 0;
    for (let rank = 1; rank <= N / 100; rank++) {
      expected += probability(rank);
      measured += share(rank);
    }
    expect(expected).toBeGreaterThan(0.6);
    expect(Math.abs(measured - expected)).toBeLessThan(0.005);
  });
});

describe("uniformAt", () => {
  it("is the same for the same number, and spreads consecutive numbers evenly over [0, 1)", () => {
    expect(uniformAt(12345)).toBe(uniformAt(12345));
    const buckets = new Array<number>(10).fill(0);
    let [low, high] = [1, 0];
    for (let i = 0; i < 100_000; i++) {
      const u = uniformAt(i);
      [low, high] = [Math.min(low, u), Math.max(high, u)];
      buckets[Math.floor(u * 10)] = (buckets[Math.floor(u * 10)] ?? 0) + 1;
    }
    expect(low).toBeGreaterThanOrEqual(0);
    expect(high).toBeLessThan(1);
    // 10,000 expected in each tenth, standard deviation about 95.
    for (const count of buckets) expect(Math.abs(count - 10_000)).toBeLessThan(400);
  });
});

describe("the workloads", () => {
  it("give request n the same identifier every time, whichever requests came before", () => {
    const zipf = WORKLOADS.zipf;
    const once = identifierAt(zipf, 4242);
    identifierAt(zipf, 7);
    expect(identifierAt(zipf, 4242)).toBe(once);
    expect(identifierAt(WORKLOADS.spread, 1003)).toBe("spread-3");
    expect(identifierAt(WORKLOADS["hot-allowed"], 99)).toBe("hot-allowed-0");
  });

  it("run hot-allowed and zipf on a tier no Worker empties, which config.yaml does not show", async () => {
    expect(WORKLOADS["hot-allowed"].tier).toBe(ROOMY_TIER);
    expect(WORKLOADS.zipf.tier).toBe(ROOMY_TIER);
    // A few thousand decisions a second on one identifier, for under a minute in all.
    expect(ROOMY_TIER.limit).toBeGreaterThan(5000 * 60);
    expect(readFileSync("config.yaml", "utf8")).not.toContain(ROOMY_TIER.name);
    const compiled = await compiledConfigWith([ROOMY_TIER]);
    expect(compiled).toContain(`"${ROOMY_TIER.name}"`);
    expect(compiled).toContain('"enterprise"');
  });

  it("refill the bench's tier at a whole number of ms a token, which @upstash/ratelimit can match", () => {
    expect(Number.isInteger((ROOMY_TIER.window * 1000) / ROOMY_TIER.limit)).toBe(true);
  });

  it("are chosen by a comma-separated list of names, and an unknown name is refused", () => {
    expect(parseWorkloads("hot-allowed, zipf")).toEqual(["hot-allowed", "zipf"]);
    expect(() => parseWorkloads("hot,cold")).toThrow(/cold/);
    expect(() => parseWorkloads("")).toThrow(/--workloads/);
  });
});
