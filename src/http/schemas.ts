import * as z from "zod";

// biome-ignore lint/suspicious/noControlCharactersInRegex: U+0000-U+001F and U+007F are what SPEC forbids.
const CONTROL_CHARACTERS = /[\u0000-\u001f\u007f]/;

/** The body of `POST /check`. The upper bound of `cost` is the tier's limit, checked once the tier is known. */
export const CheckRequestSchema = z.object({
  identifier: z
    .string({ error: "Input should be a valid string" })
    .min(1, "String should have at least 1 character")
    .refine((value) => [...value].length <= 256, {
      error: "String should have at most 256 characters",
      params: { type: "string_too_long" },
    })
    .refine((value) => !CONTROL_CHARACTERS.test(value), {
      error: "String should not contain control characters",
      params: { type: "string_pattern_mismatch" },
    })
    .meta({ description: "Who is asking: an API key, a user id, an IP address.", example: "user-42" }),
  tier: z
    .string({ error: "Input should be a valid string" })
    .nullish()
    .meta({ description: "A tier from config.yaml; the default tier when absent.", example: "free" }),
  cost: z
    .int({ error: "Input should be a valid integer" })
    .min(0, "Input should be greater than or equal to 0")
    .default(1)
    .meta({ description: "Tokens to take, up to the tier's limit; 0 peeks without taking.", example: 1 }),
});

export type CheckRequest = z.infer<typeof CheckRequestSchema>;

/** One entry of a 422 answer, in FastAPI's shape. */
export interface ValidationIssue {
  loc: (string | number)[];
  msg: string;
  type: string;
}
