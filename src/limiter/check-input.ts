import type * as z from "zod/mini";
import { maxCost, type NamedTier, resolveTier } from "../config/tiers.ts";
import { CheckRequestSchema } from "./check-schema.ts";

/** What a caller asks: may `identifier` on `tier` spend `cost` tokens (0 peeks)? */
export interface CheckInput {
  identifier: string;
  tier: NamedTier;
  cost: number;
}

/**
 * One problem with a check's input, in the shape the original FastAPI service gave it (and its
 * clients read): where (`loc`, from `body` down), what (`msg`), and pydantic's name for it (`type`).
 */
export interface ValidationIssue {
  loc: Array<string | number>;
  msg: string;
  type: string;
}

/**
 * A check the limiter cannot decide: it names a tier that does not exist, or its input breaks the
 * schema. `detail` says which, in the original service's words; the message is that detail (as JSON
 * text when it is a list), so every adapter, and callers over RPC where only a message crosses,
 * read the same thing.
 */
export class InvalidInputError extends Error {
  override name = "InvalidInputError";
  readonly reason: "unknown-tier" | "invalid";
  readonly detail: string | ValidationIssue[];

  constructor(reason: "unknown-tier" | "invalid", detail: string | ValidationIssue[]) {
    super(typeof detail === "string" ? detail : JSON.stringify(detail));
    this.reason = reason;
    this.detail = detail;
  }
}

/** Input that breaks the schema, with the problems found. */
export const invalidInput = (issues: ValidationIssue[]) => new InvalidInputError("invalid", issues);

/** Input that breaks the schema as a whole (not JSON, not an object, not UTF-8). */
export const invalidBody = (msg: string, type: string) => invalidInput([{ loc: ["body"], msg, type }]);

/**
 * A cost above `capacity`: over the tier's limit, or over the smaller one an override leaves the
 * identifier (known only from Redis's reply). No wait would let it through.
 */
export const costAbove = (capacity: number) =>
  invalidInput([
    {
      loc: ["body", "cost"],
      msg: `Input should be less than or equal to ${capacity}`,
      type: "less_than_equal",
    },
  ]);

/** Validates a parsed body, from HTTP or RPC alike, into what the limiter decides on. */
export function validateCheckInput(body: unknown): CheckInput {
  if (typeof body !== "object" || body === null || Array.isArray(body)) {
    throw invalidBody(
      "Input should be a valid dictionary or object to extract fields from",
      "model_attributes_type",
    );
  }
  const result = CheckRequestSchema.safeParse(body);
  if (!result.success) {
    const fields = body as Record<string, unknown>;
    throw invalidInput(result.error.issues.map((issue) => toValidationIssue(issue, fields)));
  }
  const { identifier, tier: tierName, cost } = result.data;
  const tier = resolveTier(tierName ?? undefined);
  if (tier === undefined) throw new InvalidInputError("unknown-tier", `Invalid tier: ${tierName}`);
  if (cost > maxCost(tier)) {
    throw costAbove(maxCost(tier));
  }
  return { identifier, tier, cost };
}

/** Names each problem the way pydantic does, so the original service's clients read it unchanged. */
export function toValidationIssue(issue: z.core.$ZodIssue, body: Record<string, unknown>): ValidationIssue {
  const loc = ["body", ...issue.path.map((part) => (typeof part === "number" ? part : String(part)))];
  if (issue.code === "invalid_type" && body[String(issue.path[0])] === undefined) {
    return { loc, msg: "Field required", type: "missing" };
  }
  return { loc, msg: issue.message, type: pydanticType(issue) };
}

function pydanticType(issue: z.core.$ZodIssue): string {
  switch (issue.code) {
    case "invalid_type":
      return issue.expected === "string" ? "string_type" : "int_type";
    case "too_small":
      return issue.origin === "string" ? "string_too_short" : "greater_than_equal";
    case "too_big":
      return issue.origin === "string" ? "string_too_long" : "less_than_equal";
    case "custom":
      return String(issue.params?.type ?? "value_error");
    default:
      return "value_error";
  }
}
