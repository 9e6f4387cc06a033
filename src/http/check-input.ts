import type * as z from "zod";
import { maxCost, resolveTier } from "../config/tiers.ts";
import type { CheckInput } from "../limiter/limiter.ts";
import { CheckRequestSchema, type ValidationIssue } from "./schemas.ts";

/**
 * A request the limiter cannot decide: 400 for an unknown tier, 422 for a body that breaks the
 * schema. The message is the HTTP `detail` (as JSON text when it is a list), so callers over RPC,
 * where only the message crosses, read what HTTP callers read.
 */
export class InvalidInputError extends Error {
  override name = "InvalidInputError";
  readonly status: 400 | 422;
  readonly detail: string | ValidationIssue[];

  constructor(status: 400 | 422, detail: string | ValidationIssue[]) {
    super(typeof detail === "string" ? detail : JSON.stringify(detail));
    this.status = status;
    this.detail = detail;
  }
}

/** A 422 naming one problem with the whole body. */
export const invalidBody = (msg: string, type: string) =>
  new InvalidInputError(422, [{ loc: ["body"], msg, type }]);

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
    throw new InvalidInputError(
      422,
      result.error.issues.map((issue) => toValidationIssue(issue, fields)),
    );
  }
  const { identifier, tier: tierName, cost } = result.data;
  const tier = resolveTier(tierName ?? undefined);
  if (tier === undefined) throw new InvalidInputError(400, `Invalid tier: ${tierName}`);
  if (cost > maxCost(tier)) {
    throw new InvalidInputError(422, [
      {
        loc: ["body", "cost"],
        msg: `Input should be less than or equal to ${maxCost(tier)}`,
        type: "less_than_equal",
      },
    ]);
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
