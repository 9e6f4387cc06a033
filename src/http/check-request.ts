import { type CheckInput, invalidBody, validateCheckInput } from "../limiter/check-input.ts";
import type { Logger } from "../log.ts";
import { readBodyText } from "./read-body.ts";

/** The largest body `POST /check` reads: a valid one is a few hundred bytes at most. */
const MAX_BODY_BYTES = 4096;

/**
 * Reads and validates the body of `POST /check`. Like FastAPI, a body without a content type
 * is read as JSON, and one with a content type other than JSON is not read as JSON at all
 * (so it fails validation as a plain string would).
 */
export async function readCheckRequest(request: Request, log: Logger): Promise<CheckInput> {
  // One look at the headers, for both values wanted: each access builds them anew (see read-body.ts).
  const headers = request.headers;
  const contentType = headers.get("content-type") ?? undefined;
  const text = await readBodyText(request, headers.get("content-length"), MAX_BODY_BYTES, log);
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
