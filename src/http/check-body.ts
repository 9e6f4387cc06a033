import type { Context } from "hono";
import type { CheckInput } from "../limiter/limiter.ts";
import { invalidBody, validateCheckInput } from "./check-input.ts";

/**
 * Reads and validates the body of `POST /check`. Like FastAPI, a body without a content type
 * is read as JSON, and one with a content type other than JSON is not read as JSON at all
 * (so it fails validation as a plain string would).
 */
export async function readCheckRequest(c: Context): Promise<CheckInput> {
  const contentType = c.req.header("content-type");
  const text = await c.req.text();
  if (contentType !== undefined && !isJson(contentType)) return validateCheckInput(text);
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    throw invalidBody("JSON decode error", "json_invalid");
  }
  return validateCheckInput(body);
}

function isJson(contentType: string): boolean {
  const mediaType = contentType.split(";")[0]?.trim().toLowerCase() ?? "";
  return mediaType === "application/json" || /^application\/[^/]+\+json$/.test(mediaType);
}
