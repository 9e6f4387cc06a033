import type { Context } from "hono";
import type { z } from "zod";
import { apiError } from "./errors.ts";
import { type CheckRequest, CheckRequestSchema, type ValidationIssue } from "./schemas.ts";

/** An HTTPException answering 422 with FastAPI's `{"detail": [{loc, msg, type}]}`. */
export const unprocessable = (issues: ValidationIssue[]) => apiError(422, issues);

/**
 * Reads and validates the body of `POST /check`. Like FastAPI, a body without a content type
 * is read as JSON, and one with a content type other than JSON is not read at all.
 */
export async function readCheckRequest(c: Context): Promise<CheckRequest> {
  const contentType = c.req.header("content-type");
  const text = await c.req.text();
  let body: unknown = text;
  if (contentType === undefined || isJson(contentType)) {
    try {
      body = JSON.parse(text);
    } catch {
      throw unprocessable([{ loc: ["body"], msg: "JSON decode error", type: "json_invalid" }]);
    }
  }
  if (typeof body !== "object" || body === null || Array.isArray(body)) {
    throw unprocessable([
      {
        loc: ["body"],
        msg: "Input should be a valid dictionary or object to extract fields from",
        type: "model_attributes_type",
      },
    ]);
  }
  const result = CheckRequestSchema.safeParse(body);
  if (!result.success) {
    throw unprocessable(
      result.error.issues.map((issue) => toValidationIssue(issue, body as Record<string, unknown>)),
    );
  }
  return result.data;
}

function isJson(contentType: string): boolean {
  const mediaType = contentType.split(";")[0]?.trim().toLowerCase() ?? "";
  return mediaType === "application/json" || /^application\/[^/]+\+json$/.test(mediaType);
}

/** Names each problem the way pydantic does, so the original service's clients read it unchanged. */
function toValidationIssue(issue: z.core.$ZodIssue, body: Record<string, unknown>): ValidationIssue {
  const loc = ["body", ...issue.path.map((part) => (typeof part === "number" ? part : String(part)))];
  const field = String(issue.path[0]);
  if (issue.code === "invalid_type" && body[field] === undefined) {
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
