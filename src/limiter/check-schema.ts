import * as z from "zod/mini";

/** The most characters an identifier may have, counted in code points as JSON Schema's maxLength counts. */
export const MAX_IDENTIFIER_LENGTH = 256;

// biome-ignore lint/suspicious/noControlCharactersInRegex: U+0000-U+001F and U+007F are what SPEC forbids.
export const NO_CONTROL_CHARACTERS = /^[^\u0000-\u001f\u007f]*$/;

// With the u flag a surrogate pair is one code point, so only an unpaired half matches.
const LONE_SURROGATE = /\p{Surrogate}/u;

// pydantic takes a float with no fractional part as an int inside (-2^63, 2^63), and refuses one
// outside as too large. JSON.parse gives only doubles, every one whole past 2^53, where zod's z.int()
// would stop with a message of its own.
const INT_BOUND = 2 ** 63;

/**
 * The body of `POST /check`. The upper bound of `cost` is the tier's limit, checked once the tier is
 * known. What the docs say of each field is in openapi-document.ts, at build time, so the Worker's
 * script carries no text meant only for the docs.
 */
export const CheckRequestSchema = z.object({
  identifier: z.string({ error: "Input should be a valid string" }).check(
    z.minLength(1, "String should have at least 1 character"),
    // Code points, not UTF-16 units; never more of them than units, so most strings skip the count.
    z.refine((value) => value.length <= MAX_IDENTIFIER_LENGTH || [...value].length <= MAX_IDENTIFIER_LENGTH, {
      error: `String should have at most ${MAX_IDENTIFIER_LENGTH} characters`,
      params: { type: "string_too_long" },
    }),
    z.refine((value) => NO_CONTROL_CHARACTERS.test(value), {
      error: "String should not contain control characters",
      params: { type: "string_pattern_mismatch" },
    }),
    // A lone surrogate (JSON "\ud800") is no character: Redis keys are UTF-8, where every lone
    // surrogate becomes U+FFFD, so "v\ud800", "v\udfff" and "v\ufffd" would share one bucket.
    z.refine((value) => !LONE_SURROGATE.test(value), {
      error: "String should be well-formed Unicode, without lone surrogates",
      params: { type: "string_unicode" },
    }),
  ),
  tier: z.nullish(z.string({ error: "Input should be a valid string" })),
  cost: z._default(
    z.number({ error: "Input should be a valid integer" }).check(
      z.refine(Number.isInteger, {
        error: "Input should be a valid integer",
        params: { type: "int_type" },
        abort: true,
      }),
      // A JSON number this large was most likely written as a float (1e300), for which this is
      // pydantic's answer; JSON.parse leaves no way to tell.
      z.refine((value) => Math.abs(value) < INT_BOUND, {
        error: "Unable to parse input string as an integer, exceeded maximum size",
        params: { type: "int_parsing_size" },
        abort: true,
      }),
      z.minimum(0, "Input should be greater than or equal to 0"),
    ),
    1,
  ),
});
