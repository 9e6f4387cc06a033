/**
 * Zipf-distributed draws for the bench's "zipf" workload, where a few customers send most of the traffic:
 * rank k (1-based) out of n comes with probability k^-s / H(n, s). Request number i always draws the same
 * rank (a hash of i, not a generator's state), so a job's requests do not depend on how the load
 * generator's connections interleave, and every Worker gets the same identifiers in the same order.
 */

/** A draw from Zipf(s) over ranks 1..n, from a uniform number in [0, 1). */
export type ZipfSampler = (uniform: number) => number;

/**
 * The inverse of Zipf(s)'s distribution function over 1..n, by binary search in a table of n cumulative
 * probabilities (built once: 10,000 ranks is 80 KB and 14 steps a draw).
 * @example zipfSampler(10_000, 1.1)(0.05) // 1: rank 1 alone takes about 15% of the draws
 */
export function zipfSampler(n: number, s: number): ZipfSampler {
  const cumulative = new Float64Array(n);
  let total = 0;
  for (let k = 1; k <= n; k++) {
    total += k ** -s;
    cumulative[k - 1] = total;
  }
  for (let k = 0; k < n; k++) cumulative[k] = (cumulative[k] as number) / total;
  return (uniform) => {
    let low = 0;
    let high = n - 1;
    while (low < high) {
      const mid = (low + high) >> 1;
      if ((cumulative[mid] as number) > uniform) high = mid;
      else low = mid + 1;
    }
    return low + 1;
  };
}

/**
 * A number in [0, 1) that looks uniform, from an integer: the 32-bit finaliser of MurmurHash3 applied to
 * `i`, over 2^32. The same `i` always gives the same number; neighbouring `i` give unrelated ones.
 */
export function uniformAt(i: number): number {
  let h = i >>> 0;
  h = Math.imul(h ^ (h >>> 16), 0x85ebca6b);
  h = Math.imul(h ^ (h >>> 13), 0xc2b2ae35);
  h ^= h >>> 16;
  return (h >>> 0) / 2 ** 32;
}
