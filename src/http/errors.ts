import type { Context, ErrorHandler, NotFoundHandler } from "hono";
import { HTTPException } from "hono/http-exception";
import type { ContentfulStatusCode } from "hono/utils/http-status";
import { UNAVAILABLE_RETRY_AFTER_S } from "../limiter/decision.ts";
import { LimiterUnavailableError } from "../limiter/limiter.ts";
import { createLogger } from "../log.ts";
import { SettingsError } from "../settings.ts";
import { InvalidInputError } from "./check-input.ts";

/** An error answer in the original service's shape, `{"detail": ...}`, thrown as Hono's one error type. */
export function apiError(
  status: ContentfulStatusCode,
  detail: unknown,
  headers?: HeadersInit,
): HTTPException {
  return new HTTPException(status, { res: Response.json({ detail }, { status, headers }) });
}

/** The one error handler: known errors become their answers; anything else a logged 500. */
export const handleError: ErrorHandler = (error, c) => {
  if (error instanceof HTTPException) return error.getResponse();
  if (error instanceof InvalidInputError) return c.json({ detail: error.detail }, error.status);
  if (error instanceof LimiterUnavailableError) {
    return c.json({ detail: error.message }, 503, { "Retry-After": String(UNAVAILABLE_RETRY_AFTER_S) });
  }
  // The services could not be built, so their logger is not there either.
  const log = c.var.services?.log ?? createLogger("ERROR");
  if (error instanceof SettingsError) {
    log.error(error.message);
    return c.json({ detail: error.message }, 500);
  }
  log.error("unhandled error", {
    error: error instanceof Error ? `${error.name}: ${error.message}` : String(error),
  });
  return c.json({ detail: "Internal Server Error" }, 500);
};

export const notFound: NotFoundHandler = (c) => c.json({ detail: "Not Found" }, 404);

/** Answers 405 with `Allow` for a known path asked with a method it does not serve. */
export const methodNotAllowed = (allow: string) =>
  function methodNotAllowedHandler(c: Context) {
    return c.json({ detail: "Method Not Allowed" }, 405, { Allow: allow });
  };
