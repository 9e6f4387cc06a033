/** Redis read and prepared through the REST server itself, bypassing the proxy and its faults. */
import { expect, inject } from "vitest";
import { FREE } from "./helpers.ts";

const restUrl = inject("faultRestUrl");
const restToken = inject("faultRestToken");

/** One command on the REST server itself, bypassing the proxy; throws unless it answers 200. */
export async function redisCommand(...args: (string | number)[]): Promise<unknown> {
  const response = await fetch(restUrl, {
    method: "POST",
    headers: { authorization: `Bearer ${restToken}`, "content-type": "application/json" },
    body: JSON.stringify(args),
  });
  const text = await response.text();
  if (!response.ok) throw new Error(`${JSON.stringify(args)} -> ${response.status} ${text}`);
  return (JSON.parse(text) as { result: unknown }).result;
}

/** The bucket's key in Redis. */
export const bucketKey = (tier: string, identifier: string) => `ratelimit:${tier}:${identifier}`;

/**
 * How many tokens were taken from a `free` bucket that was full at `since` (the Worker's clock, ms), read
 * from Redis, leased tokens not counted: between `min` (no refill counted) and `max` (all the refill its `ts` allows). Asserts the
 * fields are not corrupted: absent together, or numbers with tokens within [0, limit].
 */
export async function tokensTaken(identifier: string, since: number): Promise<{ min: number; max: number }> {
  const [stored, ts, out] = (await redisCommand(
    "HMGET",
    bucketKey(FREE.name, identifier),
    "tokens",
    "ts",
    "out",
  )) as [string | null, string | null, string | null];
  // Tokens out on lease are held by an isolate, not granted to anyone: not charges.
  const tokens = stored === null ? null : String(Number(stored) + Number(out ?? 0));
  if (tokens === null && ts === null) return { min: 0, max: 0 };
  for (const [field, value] of Object.entries({ tokens, ts })) {
    expect(
      typeof value === "string" && value.trim() !== "" && Number.isFinite(Number(value)),
      `${field} ${value}`,
    ).toBe(true);
  }
  expect(Number(tokens)).toBeGreaterThanOrEqual(0);
  expect(Number(tokens)).toBeLessThanOrEqual(FREE.limit);
  const min = FREE.limit - Number(tokens);
  const refill = (Math.max(0, Number(ts) - since) * FREE.limit) / FREE.windowMs;
  return { min, max: min + refill };
}

/** Asserts that `charges` charges of `cost` fit what the bucket shows (with 1e-6 of float slack). */
export function expectCharges(
  taken: { min: number; max: number },
  cost: number,
  charges: { atLeast: number; atMost: number },
) {
  expect(taken.min, "tokens taken, refill not counted").toBeLessThanOrEqual(charges.atMost * cost + 1e-6);
  expect(taken.max, "tokens taken, all refill counted").toBeGreaterThanOrEqual(charges.atLeast * cost - 1e-6);
}
