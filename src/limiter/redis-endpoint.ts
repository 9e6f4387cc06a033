import { errors, Redis, type UpstashRequest, type UpstashResponse } from "@upstash/redis/cloudflare";
import type { Settings } from "../settings.ts";
import type { BatchContext } from "./batches.ts";
import { CircuitOpenError } from "./circuit-breaker.ts";
import { DeadlineExceededError } from "./deadline.ts";
import { pipelining } from "./pipelining.ts";
import { MalformedReplyError } from "./script-reply.ts";
import { scriptSha, TOKEN_BUCKET_SCRIPT, TOKEN_BUCKET_SCRIPT_UNFLAGGED } from "./token-bucket-script.ts";

/** Most characters of an endpoint's error body kept in an error (and so in a log line). */
const MAX_ERROR_TEXT = 200;

/** An error answer from the REST endpoint. Its status says whether trying again can help. */
class EndpointError extends Error {
  override name = "EndpointError";
  readonly status: number;

  constructor(status: number, text: string) {
    super(`HTTP ${status}: ${text.slice(0, MAX_ERROR_TEXT)}`);
    this.status = status;
  }
}

/** The endpoint could not be reached, or the connection broke before its answer was read whole. */
class EndpointUnreachableError extends Error {
  override name = "EndpointUnreachableError";
}

/**
 * Whether a failed call may succeed if sent again: the endpoint unreachable, 5xx and 429 from it,
 * and replies garbled on the way. Never 4xx answers (a wrong token) or Redis errors (WRONGTYPE):
 * they would fail the same way again.
 */
export function isTransient(error: unknown): boolean {
  if (error instanceof EndpointError) return error.status >= 500 || error.status === 429;
  return error instanceof EndpointUnreachableError || error instanceof MalformedReplyError;
}

/**
 * Whether Redis could not answer: the endpoint failing as `isTransient` says, the deadline, or the
 * open circuit. Only these take FAIL_MODE; anything else (a 4xx, a Redis error, a bug) is an error
 * to fix, never an unchecked allow.
 */
export function isEndpointFailure(error: unknown): boolean {
  return isTransient(error) || error instanceof DeadlineExceededError || error instanceof CircuitOpenError;
}

/** A failure for the log: one line, never the command (it holds the bucket key), never long. */
export function describeFailure(error: unknown): string {
  if (error instanceof DeadlineExceededError) return error.message;
  const text = error instanceof Error ? `${error.name}: ${error.message}` : String(error);
  return (text.split(", command was:")[0] ?? text).slice(0, MAX_ERROR_TEXT);
}

/** Most script calls in one pipeline: Redis runs them one after another before it answers any. */
const MAX_PIPELINE = 64;

/** The token-bucket script and a PING, on one Redis client for the life of the isolate. */
export interface RedisEndpoint {
  /**
   * EVALSHA of the token-bucket script, in one pipeline with the other script calls of the same turn
   * (pipelining.ts): one round trip, two after NOSCRIPT (then EVAL), and two more, once per isolate,
   * where the endpoint refuses the `allow-key-locking` flag (SRH, stock Redis). `context` is the
   * call's: its deadline, and the `waitUntil` that keeps a pipeline it opens going for the others.
   */
  runScript(keys: string[], args: string[], context: BatchContext): Promise<unknown>;
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
  let script = redis.createScript(TOKEN_BUCKET_SCRIPT);
  let sha: Promise<string> | undefined;
  let flagged = true;

  /** One call on its own: EVALSHA, or EVAL when Redis is known not to hold the script. */
  async function runAlone({ keys, args }: ScriptCall, loaded = true): Promise<unknown> {
    const run = () => (loaded ? script.exec(keys, args) : script.eval(keys, args));
    try {
      return await run();
    } catch (error) {
      // Redis compiles a script before it runs it, so a refused flag means the call never ran. Calls
      // sent together are refused together: the first to hear it switches, every one sends again.
      if (!isRefusedFlag(error)) throw error;
      if (flagged) {
        flagged = false;
        script = redis.createScript(TOKEN_BUCKET_SCRIPT_UNFLAGGED);
        sha = undefined;
      }
      return await run();
    }
  }

  /**
   * A turn's calls: alone as ever, or several as one pipeline of EVALSHAs. A slot's NOSCRIPT sends its
   * call again alone, as an EVAL (which deals with a refused flag as ever); a slot's other Redis error
   * (WRONGTYPE) fails its call, which would fail the same way again. A failed pipeline fails all its
   * calls, which retry as they would alone.
   */
  async function runTurn(calls: ScriptCall[]): Promise<PromiseSettledResult<unknown>[]> {
    if (calls.length === 1) return Promise.allSettled(calls.map((call) => runAlone(call)));
    sha ??= scriptSha(script.script);
    const name = await sha;
    const pipeline = redis.pipeline();
    for (const { keys, args } of calls) pipeline.evalsha(name, keys, args);
    const slots = await pipeline.exec<unknown[]>({ keepErrors: true });
    return Promise.allSettled(
      slots.map(({ error, result }, i) => {
        if (error === undefined) return result;
        if (/noscript/i.test(error)) return runAlone(calls[i] as ScriptCall, false);
        return Promise.reject(new errors.UpstashError(error));
      }),
    );
  }

  const pipelined = pipelining(runTurn, MAX_PIPELINE);
  return {
    runScript: (keys, args, context) => pipelined({ keys, args }, context),
    evalScript: (source, keys, args) => redis.eval(source, keys, args),
    ping: () => redis.ping(),
  };
}

/** One call of the token-bucket script. */
interface ScriptCall {
  keys: string[];
  args: string[];
}

/**
 * Stock Redis 7 (and so SRH) refusing Upstash's `allow-key-locking`: "ERR Unexpected flag in script
 * shebang", a Redis error, which REST endpoints answer with a 400.
 */
const isRefusedFlag = (error: unknown) =>
  (error instanceof EndpointError || error instanceof errors.UpstashError) &&
  /unexpected flag in script shebang/i.test(error.message);

/** One command (or pipeline) to the REST endpoint, as the client's `use` hook takes it. */
function restTransport(url: string, token: string) {
  const base = url.replace(/\/$/, "");
  const headers = { authorization: `Bearer ${token}`, "content-type": "application/json" };
  return function postCommand<T>(request: UpstashRequest): Promise<UpstashResponse<T>> {
    const target = request.path === undefined ? base : [base, ...request.path].join("/");
    // A pipeline answers one slot per command, in order; the client reads them by index.
    const slots = request.path === undefined ? undefined : (request.body as unknown[]).length;
    return send<T>(fetch(target, { method: "POST", headers, body: JSON.stringify(request.body) }), slots);
  };
}

/** The endpoint's answer as the client expects it, or the error that says what went wrong. */
async function send<T>(sent: Promise<Response>, slots?: number): Promise<UpstashResponse<T>> {
  let response: Response;
  let text: string;
  try {
    response = await sent;
    text = await response.text();
  } catch (error) {
    // Refused, reset, dropped mid-reply: workerd throws TypeErrors and plain Errors ("Network
    // connection lost") alike, so they are told apart from our own errors here, where they happen.
    throw new EndpointUnreachableError(error instanceof Error ? error.message : String(error), {
      cause: error,
    });
  }
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
  const answered = slots === undefined ? isAnswer(body) : isPipelineAnswer(body, slots);
  if (!answered) throw new MalformedReplyError(`Reply has no result: ${text.slice(0, MAX_ERROR_TEXT)}`);
  return body as UpstashResponse<T>;
}

/** `{"result": …}` or `{"error": "…"}`: a command's answer. */
const isAnswer = (body: unknown) =>
  typeof body === "object" && body !== null && ("result" in body || "error" in body);

/** A pipeline's answer: one command's answer per slot, as many as it sent. */
const isPipelineAnswer = (body: unknown, slots: number) =>
  Array.isArray(body) && body.length === slots && body.every(isAnswer);
