/**
 * What the property tests of `POST /check` and `RateLimiter.check` share: generators of bodies and
 * arguments, good and bad, and the answer each one must get, written out from SPEC.md rather than
 * taken from src/, so a validation bug cannot agree with itself.
 */
import fc from "fast-check";
import { config } from "../src/config/tiers.generated.ts";

const tiers: Record<string, { limits: ReadonlyArray<{ limit: number }> }> = config.tiers;
/** The most one request may cost on a tier: its smallest bucket (SPEC: cost up to the tier's limit). */
const maxCostOf = (name: string) => Math.min(...(tiers[name]?.limits.map((l) => l.limit) ?? [0]));
const utf8 = new TextDecoder();

/** What `POST /check` must answer a body it is given (a fresh identifier, so a valid one is allowed). */
export type Expected = 200 | 400 | 422;

/**
 * The status a parsed JSON body must get: 422 when it breaks the schema (SPEC's field rules), else
 * 400 for an unknown tier, else 422 for a cost above the tier's limit, else 200.
 */
export function expectedStatus(body: unknown): Expected {
  if (typeof body !== "object" || body === null || Array.isArray(body)) return 422;
  const { identifier, tier, cost } = body as Record<string, unknown>;
  const identifierOk =
    typeof identifier === "string" &&
    identifier.length > 0 &&
    [...identifier].length <= 256 &&
    // biome-ignore lint/suspicious/noControlCharactersInRegex: the characters SPEC forbids.
    !/[\u0000-\u001f\u007f]/.test(identifier) &&
    // Well-formed: it survives a trip through UTF-8 (a lone surrogate comes back as U+FFFD).
    utf8.decode(new TextEncoder().encode(identifier)) === identifier;
  const tierOk = tier === undefined || tier === null || typeof tier === "string";
  // A whole number from 0 up to pydantic's bound for an int, 2^63 (past 2^53 every double is whole):
  // a cost that large meets the schema, so a tier that does not exist is what gets answered.
  const costOk =
    cost === undefined || (Number.isInteger(cost) && (cost as number) >= 0 && (cost as number) < 2 ** 63);
  if (!identifierOk || !tierOk || !costOk) return 422;
  const name = (tier as string | null | undefined) ?? config.default_tier;
  if (!Object.hasOwn(tiers, name)) return 400;
  return ((cost as number | undefined) ?? 1) > maxCostOf(name) ? 422 : 200;
}

/** Identifiers of every kind: plain, any code point (lone surrogates too), control characters, too long. */
const identifierArb = fc.oneof(
  fc.string({ maxLength: 20 }),
  fc.string({ unit: "binary", maxLength: 20 }),
  fc.string({ unit: "grapheme", maxLength: 20 }),
  fc.constantFrom("\ud800", "a\udfff", "\ufffd", "e\u0301", "\u0000", "tab\t", "\u007f", "🙂"),
  // With the unique prefix (about 45 characters) these straddle the 256-character limit.
  fc.string({ minLength: 195, maxLength: 225 }),
  fc.constantFrom(42, null, true, [], {}),
);

const tierArb = fc.oneof(
  fc.constantFrom(...Object.keys(tiers), "gold", "", "toString", "__proto__", "FREE"),
  fc.string({ maxLength: 8 }),
  fc.constantFrom(null, 3, false),
);

const costArb = fc.oneof(
  fc.integer({ min: -3, max: 12_000 }),
  fc.double(),
  fc.constantFrom(0, 1, 100, 101, 1000, 10_000, 10_001, 2 ** 53, 2 ** 63, 1e300, null, "1", true, [1]),
);

/**
 * A body for `/check`: mostly objects with some of the three fields (and sometimes an extra one),
 * many of them plausible, otherwise any JSON value. `identifier` strings are made unique per body by `uniquify`, so no two
 * bodies share a bucket and a valid one always finds its bucket full.
 */
export function bodyArb(uniquify: (identifier: string) => string): fc.Arbitrary<unknown> {
  const fields = fc.record(
    { identifier: identifierArb, tier: tierArb, cost: costArb, extra: fc.jsonValue({ maxDepth: 1 }) },
    { requiredKeys: [] },
  );
  // Near misses and hits: fields of the right types, so the boundaries get tried, not just the types.
  const plausible = fc.record(
    {
      identifier: fc.oneof(fc.string({ unit: "grapheme", minLength: 1, maxLength: 20 }), identifierArb),
      tier: fc.constantFrom(...Object.keys(tiers), "gold"),
      cost: fc.oneof(fc.integer({ min: 0, max: 100 }), costArb),
    },
    { requiredKeys: ["identifier"] },
  );
  return fc
    .oneof(
      { weight: 3, arbitrary: plausible },
      { weight: 3, arbitrary: fields },
      { weight: 1, arbitrary: fc.jsonValue({ maxDepth: 2 }) },
    )
    .map((body) => {
      if (typeof body !== "object" || body === null || !("identifier" in body)) return body;
      const { identifier } = body as { identifier: unknown };
      if (typeof identifier !== "string" || identifier === "") return body;
      return { ...body, identifier: uniquify(identifier) };
    });
}

/** A prefix for identifiers that no other test run uses, plus a counter, so each body gets its own bucket. */
export function uniquePrefixer(label: string): (identifier: string) => string {
  const run = `${label}-${crypto.randomUUID()}`;
  let count = 0;
  return (identifier) => `${run}-${count++}-${identifier}`;
}
