import { errors, Redis, type UpstashRequest, type UpstashResponse } from "@upstash/redis/cloudflare";
import type { Settings } from "../settings.ts";
import { DeadlineExceededError } from "./deadline.ts";
import { MalformedReplyError } from "./script-reply.ts";
import { TOKEN_BUCKET_SCRIPT } from "./token-bucket-script.ts";

/** Most characters of an endpoint's error body kept in an error (and so in a log line). */
const MAX_ERROR_TEXT = 200;

/** An error answer from the REST endpoint. Its status says whether trying again can help. */
export class EndpointError extends Error {
  override name = "EndpointError";
  readonly status: number;

  constructor(status: number, text: string) {
    super(`HTTP ${status}: ${text.slice(0, MAX_ERROR_TEXT)}`);
    this.status = status;
  }
}

/**
 * Whether a failed call may succeed if sent again: network errors, 5xx and 429 from the endpoint,
 * and replies garbled on the way. Never 4xx answers (a wrong token, WRONGTYPE): they would fail
 * the same way again.
 */
export function isTransient(error: unknown): boolean {
  if (error instanceof EndpointError) return error.status >= 500 || error.status === 429;
  // A Redis error inside a 200 answer.
  if (error instanceof errors.UpstashError) return false;
  // Garbled replies, and fetch's own failures: refused, reset, dropped mid-reply (workerd throws
  // plain Errors such as "Network connection lost" for some of these, not only TypeErrors).
  return true;
}

/** A failure for the log: one line, never the command (it holds the bucket key), never long. */
export function describeFailure(error: unknown): string {
  if (error instanceof DeadlineExceededError) return error.message;
  const text = error instanceof Error ? `${error.name}: ${error.message}` : String(error);
  return (text.split(", command was:")[0] ?? text).slice(0, MAX_ERROR_TEXT);
}

/** The token-bucket script and a PING, on one Redis client for the life of the isolate. */
export interface RedisEndpoint {
  /** EVALSHA of the token-bucket script (EVAL after NOSCRIPT): one round trip. */
  runScript(keys: string[], args: string[]): Promise<unknown>;
  /** EVAL of another script: for the admin API's rare, atomic changes. */
  evalScript(script: string, keys: string[], args: string[]): Promise<unknown>;
  ping(): Promise<unknown>;
}

/**
 * One `@upstash/redis` client and one script per environment, so the script's SHA-1 is computed
 * once. Its HTTP step is ours (through the client's `use` hook), for what the client's own does
 * not give: the endpoint's status code, to retry only what may be transient; error text cut to a
 * sane length. The fetch itself takes no timer: the deadline race (deadline.ts) answers on time,
 * and workerd ends a fetch left behind when its request ends.
 * The client's retries are off: ours run inside the deadline (deadline.ts).
 */
export function createRedisEndpoint(settings: Settings): RedisEndpoint {
  const redis = new Redis({
    url: settings.UPSTASH_REDIS_REST_URL,
    token: settings.UPSTASH_REDIS_REST_TOKEN,
    retry: { retries: 0 },
    enableAutoPipelining: false,
    readYourWrites: false,
    enableTelemetry: false,
    responseEncoding: false,
    // The script's reply holds digit strings ("0101", "7") that must stay strings.
    automaticDeserialization: false,
  });
  redis.use(restTransport(settings.UPSTASH_REDIS_REST_URL, settings.UPSTASH_REDIS_REST_TOKEN));
  const script = redis.createScript(TOKEN_BUCKET_SCRIPT);
  return {
    runScript: (keys, args) => script.exec(keys, args),
    evalScript: (source, keys, args) => redis.eval(source, keys, args),
    ping: () => redis.ping(),
  };
}

/** One command (or pipeline) to the REST endpoint, as the client's `use` hook takes it. */
function restTransport(url: string, token: string) {
  const base = url.replace(/\/$/, "");
  const headers = { authorization: `Bearer ${token}`, "content-type": "application/json" };
  return function postCommand<T>(request: UpstashRequest): Promise<UpstashResponse<T>> {
    const target = request.path === undefined ? base : [base, ...request.path].join("/");
    return send<T>(fetch(target, { method: "POST", headers, body: JSON.stringify(request.body) }));
  };
}

/** The endpoint's answer as the client expects it, or the error that says what went wrong. */
async function send<T>(sent: Promise<Response>): Promise<UpstashResponse<T>> {
  const response = await sent;
  const text = await response.text();
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    if (!response.ok) throw new EndpointError(response.status, text);
    throw new MalformedReplyError(`Reply is not JSON: ${text.slice(0, MAX_ERROR_TEXT)}`);
  }
  if (!response.ok) {
    const error = (body as { error?: unknown } | null)?.error;
    throw new EndpointError(response.status, typeof error === "string" ? error : text);
  }
  if (typeof body !== "object" || body === null || !("result" in body || "error" in body)) {
    throw new MalformedReplyError(`Reply has no result: ${text.slice(0, MAX_ERROR_TEXT)}`);
  }
  return body as UpstashResponse<T>;
}
