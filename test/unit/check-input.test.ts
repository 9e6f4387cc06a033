import { describe, expect, it } from "vitest";
import { InvalidInputError, validateCheckInput } from "../../src/limiter/check-input.ts";

/** What a body is answered with, as the original FastAPI service answered it (status and detail). */
function answerTo(body: unknown): { status: number; detail: unknown } | "valid" {
  try {
    validateCheckInput(body);
    return "valid";
  } catch (error) {
    if (!(error instanceof InvalidInputError)) throw error;
    return { status: error.reason === "unknown-tier" ? 400 : 422, detail: error.detail };
  }
}

const issue = (field: string | undefined, msg: string, type: string) => ({
  loc: field === undefined ? ["body"] : ["body", field],
  msg,
  type,
});

// Bodies and the detail pydantic v2 gives them (the original service's clients parse these).
const table: Array<[string, unknown, ReturnType<typeof answerTo>]> = [
  ["a valid body", { identifier: "user-42", tier: "pro", cost: 3 }, "valid"],
  ["a peek", { identifier: "user-42", cost: 0 }, "valid"],
  ["a null tier (the default)", { identifier: "user-42", tier: null }, "valid"],
  [
    "not an object",
    [1, 2],
    {
      status: 422,
      detail: [
        issue(
          undefined,
          "Input should be a valid dictionary or object to extract fields from",
          "model_attributes_type",
        ),
      ],
    },
  ],
  [
    "no identifier",
    { tier: "free" },
    { status: 422, detail: [issue("identifier", "Field required", "missing")] },
  ],
  [
    "an identifier that is a number",
    { identifier: 42 },
    { status: 422, detail: [issue("identifier", "Input should be a valid string", "string_type")] },
  ],
  [
    "an empty identifier",
    { identifier: "" },
    {
      status: 422,
      detail: [issue("identifier", "String should have at least 1 character", "string_too_short")],
    },
  ],
  [
    "an identifier over 256 characters",
    { identifier: "x".repeat(257) },
    {
      status: 422,
      detail: [issue("identifier", "String should have at most 256 characters", "string_too_long")],
    },
  ],
  [
    "a negative cost",
    { identifier: "x", cost: -1 },
    {
      status: 422,
      detail: [issue("cost", "Input should be greater than or equal to 0", "greater_than_equal")],
    },
  ],
  [
    "a fractional cost",
    { identifier: "x", cost: 1.5 },
    { status: 422, detail: [issue("cost", "Input should be a valid integer", "int_type")] },
  ],
  [
    "a cost over the tier's limit",
    { identifier: "x", cost: 101 },
    { status: 422, detail: [issue("cost", "Input should be less than or equal to 100", "less_than_equal")] },
  ],
  // Past 2^53 every number is whole: pydantic takes it as an int up to its bound, 2^63, so the tier's
  // bound answers. Past 2^63 pydantic answers int_parsing_size for a float (1e300), and JSON.parse
  // leaves no way to tell a float from an integer that long.
  [
    "a cost of 2^53",
    { identifier: "x", cost: 2 ** 53 },
    { status: 422, detail: [issue("cost", "Input should be less than or equal to 100", "less_than_equal")] },
  ],
  [
    "a cost just under 2^63",
    { identifier: "x", cost: 2 ** 63 - 1024 },
    { status: 422, detail: [issue("cost", "Input should be less than or equal to 100", "less_than_equal")] },
  ],
  [
    "a cost of -2^53",
    { identifier: "x", cost: -(2 ** 53) },
    {
      status: 422,
      detail: [issue("cost", "Input should be greater than or equal to 0", "greater_than_equal")],
    },
  ],
  ...[2 ** 63, 1e300, -(2 ** 63), -1e300].map((cost): (typeof table)[number] => [
    `a cost of ${cost}`,
    { identifier: "x", cost },
    {
      status: 422,
      detail: [
        issue(
          "cost",
          "Unable to parse input string as an integer, exceeded maximum size",
          "int_parsing_size",
        ),
      ],
    },
  ]),
  ["an unknown tier", { identifier: "x", tier: "gold" }, { status: 400, detail: "Invalid tier: gold" }],
  [
    "two problems at once",
    { cost: -1 },
    {
      status: 422,
      detail: [
        issue("identifier", "Field required", "missing"),
        issue("cost", "Input should be greater than or equal to 0", "greater_than_equal"),
      ],
    },
  ],
];

describe("validating a check, with the original service's answers", () => {
  it.each(table)("answers %s", (_, body, expected) => {
    expect(answerTo(body)).toEqual(expected);
  });

  it("refuses lone surrogates, which would share a bucket with U+FFFD", () => {
    expect(answerTo({ identifier: "v\ud800" })).toMatchObject({
      status: 422,
      detail: [{ loc: ["body", "identifier"], type: "string_unicode" }],
    });
    expect(answerTo({ identifier: "v\ufffd" })).toBe("valid");
  });
});
