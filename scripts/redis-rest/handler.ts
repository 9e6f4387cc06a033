import type { IncomingMessage, ServerResponse } from "node:http";
import { expectCommand, expectCommandList, toCommand } from "./command.ts";
import { RedisTimeoutError, RedisUnavailableError } from "./connection.ts";
import { HttpError, JSON_HEADERS, MESSAGES } from "./errors.ts";
import { type JsonReply, runMultiExec, runPipeline, runSingle } from "./execute.ts";
import type { RedisPool } from "./pool.ts";
import { errorJson } from "./reply-json.ts";
import { parseJsonBody, readBody } from "./request-body.ts";
import type { ScriptFlags } from "./script-flags.ts";

/** What the handler needs: the pool, the one accepted token, script handling, limits, where log lines go. */
export interface HandlerContext {
  pool: RedisPool;
  token: string;
  scripts: ScriptFlags;
  bodyLimit: number;
  commandTimeoutMs: number;
  log(line: string): void;
}

// SRH's content-type plug runs on these methods before routing, so even `POST /nope` can fail it.
const BODY_METHODS = new Set(["POST", "PUT", "PATCH", "DELETE"]);
const ROUTES = new Set(["GET /", "POST /", "POST /pipeline", "POST /multi-exec"]);

/**
 * Answers one request with SRH's checks in SRH's order (protocol §1.1): content type, JSON body, route,
 * Authorization shape, body shape, token, then Redis. Never rejects: every failure becomes a JSON answer.
 */
export function createHandler(
  context: HandlerContext,
): (request: IncomingMessage, response: ServerResponse) => void {
  return function redisRestHandler(request, response) {
    answer(request, context)
      .catch((error: unknown) => errorReply(error, context))
      .then((reply: JsonReply & { contentType?: string }) =>
        send(response, reply.status, reply.body, reply.contentType),
      )
      // Only writing to a broken socket gets here; an unhandled rejection would end the process.
      .catch((error: unknown) => context.log(`cannot answer: ${String(error)}`));
  };
}

async function answer(request: IncomingMessage, context: HandlerContext): Promise<JsonReply> {
  const method = request.method ?? "GET";
  let body: unknown;
  if (BODY_METHODS.has(method)) {
    const contentType = request.headersDistinct["content-type"] ?? [];
    if (contentType.length !== 1 || contentType[0] !== "application/json") {
      throw new HttpError(400, MESSAGES.contentType, "application/json; charset=utf-8");
    }
    body = parseJsonBody(await readBody(request, context.bodyLimit));
  }
  const route = `${method} ${routePath(request.url ?? "/")}`;
  if (!ROUTES.has(route)) throw new HttpError(404, MESSAGES.notFound);
  if (route === "GET /") return { status: 200, body: JSON.stringify(MESSAGES.welcome) };

  const token = bearerToken(request);
  const single = route === "POST /" ? expectCommand(body) : undefined;
  const list = single ? undefined : expectCommandList(body);
  // A plain comparison: this server guards local development data, not secrets worth a timing attack.
  if (token !== context.token) throw new HttpError(401, MESSAGES.token);

  // Only exactly "base64" turns encoding on (`BASE64`, `gzip`, … do not), as in SRH.
  const base64 = request.headersDistinct["upstash-encoding"]?.includes("base64") ?? false;
  const prepare = (json: unknown[]) => context.scripts.prepare(toCommand(json));
  if (single) return runSingle(context.pool, prepare(single), base64);
  const commands = (list ?? []).map(prepare);
  if (route === "POST /pipeline") return runPipeline(context.pool, commands, base64);
  return runMultiExec(context.pool, commands, base64);
}

/** Plug.Router drops empty segments and ignores the query: `//pipeline/?x` routes as `/pipeline`. */
function routePath(url: string): string {
  const path = url.split("?", 1)[0] ?? "";
  return `/${path.split("/").filter(Boolean).join("/")}`;
}

/** SRH accepts an Authorization value only if it splits on single spaces into exactly `Bearer` and a token. */
function bearerToken(request: IncomingMessage): string {
  for (const value of request.headersDistinct.authorization ?? []) {
    const parts = value.split(" ");
    if (parts.length === 2 && parts[0] === "Bearer" && parts[1] !== undefined) return parts[1];
  }
  throw new HttpError(400, MESSAGES.authorization);
}

/** Maps a failure to its JSON answer; the reasons behind 500s go to the log, as SRH's messages promise. */
function errorReply(error: unknown, context: HandlerContext): JsonReply & { contentType?: string } {
  if (error instanceof HttpError) {
    return { status: error.status, body: errorJson(error.message), contentType: error.contentType };
  }
  if (error instanceof RedisUnavailableError) {
    context.log(`Redis unavailable: ${error.message}`);
    return { status: 500, body: errorJson(MESSAGES.unavailable) };
  }
  if (error instanceof RedisTimeoutError) {
    context.log(error.message);
    return { status: 500, body: errorJson(MESSAGES.timeout(context.commandTimeoutMs)) };
  }
  context.log(`internal error: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`);
  return { status: 500, body: errorJson(MESSAGES.internal) };
}

function send(response: ServerResponse, status: number, body: string, contentType?: string): void {
  // The client may have gone (an aborted fetch): there is nobody left to answer.
  if (response.headersSent || response.destroyed) return;
  response.writeHead(status, {
    ...JSON_HEADERS,
    ...(contentType ? { "content-type": contentType } : {}),
    "content-length": Buffer.byteLength(body),
  });
  response.end(body);
}
