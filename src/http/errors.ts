import type { Context, ErrorHandler, NotFoundHandler } from "hono";
import { HTTPException } from "hono/http-exception";
import type { ContentfulStatusCode } from "hono/utils/http-status";
import { InvalidInputError } from "../limiter/check-input.ts";
import { LimiterUnavailableError } from "../limiter/limiter.ts";
import { describeFailure, isEndpointFailure } from "../limiter/redis-endpoint.ts";
import { createLogger, type Logger } from "../log.ts";
import { SettingsError } from "../settings.ts";
import { unavailableResponse } from "./answers.ts";

/** An error answer in the original service's shape, `{"detail": ...}`, thrown as Hono's one error type. */
export function apiError(
  status: ContentfulStatusCode,
  detail: unknown,
  headers?: HeadersInit,
): HTTPException {
  return new HTTPException(status, { res: Response.json({ detail }, { status, headers }) });
}

/**
 * The one error policy of the HTTP API: known errors become their answers; a failing Redis endpoint
 * (the admin API's calls, which no FAIL_MODE covers) the 503 that `/check` gives when it fails
 * closed; anything else a logged 500. `log` is missing when the services could not be built (an
 * invalid environment).
 */
export function errorResponse(error: unknown, log: Logger = createLogger("ERROR")): Response {
  if (error instanceof HTTPException) return error.getResponse();
  if (error instanceof InvalidInputError) {
    // FastAPI's statuses: 400 for a tier that does not exist, 422 for input that breaks the schema.
    return Response.json({ detail: error.detail }, { status: error.reason === "unknown-tier" ? 400 : 422 });
  }
  if (error instanceof LimiterUnavailableError) return unavailableResponse();
  if (error instanceof SettingsError) {
    log.error(error.message);
    return Response.json({ detail: error.message }, { status: 500 });
  }
  if (isEndpointFailure(error)) {
    log.warning("redis unavailable, answered 503", { reason: describeFailure(error) });
    return unavailableResponse();
  }
  log.error("unhandled error", {
    error: error instanceof Error ? `${error.name}: ${error.message}` : String(error),
  });
  return Response.json({ detail: "Internal Server Error" }, { status: 500 });
}

/** Hono's error handler: the same policy for the routes Hono serves. */
export const handleError: ErrorHandler = (error, c) => errorResponse(error, c.var.services?.log);

export const notFound: NotFoundHandler = (c) => c.json({ detail: "Not Found" }, 404);

/** Answers 405 with `Allow` for a known path asked with a method it does not serve. */
export const methodNotAllowed = (allow: string) =>
  function methodNotAllowedHandler(c: Context) {
    return c.json({ detail: "Method Not Allowed" }, 405, { Allow: allow });
  };
