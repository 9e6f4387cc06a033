/** Shared by the emulator tests: one redis-server + REST server per file, and raw HTTP helpers for them. */
import { randomUUID } from "node:crypto";
import { vi } from "vitest";
import { startLocalRedisRest } from "../../scripts/local-redis.ts";

/** A parsed answer, with the raw text kept for exactness checks (integers past 2^53). */
export interface Answer {
  status: number;
  headers: Headers;
  text: string;
  /** `JSON.parse(text)`, or undefined when the body is not JSON. */
  json: unknown;
}

/** Per-request overrides; by default a POST carries SRH's content type and the right bearer token. */
export interface RequestOptions {
  method?: string;
  /** A string is sent as is; anything else is JSON-encoded. */
  body?: unknown;
  /** null leaves the header out. */
  contentType?: string | null;
  /** null leaves the header out. */
  authorization?: string | null;
  base64?: boolean;
  headers?: Record<string, string>;
}

/** One emulator for one test file. */
export interface Emulator {
  url: string;
  token: string;
  redisUrl: string;
  request(path: string, options?: RequestOptions): Promise<Answer>;
  /** POST with JSON defaults. */
  post(path: string, body: unknown, options?: RequestOptions): Promise<Answer>;
  /** POST / of one command; throws unless 200, so setup steps fail loudly. */
  command(...args: unknown[]): Promise<unknown>;
  stop(): Promise<void>;
}

/** Starts redis-server and the REST server for a test file; log lines are collected, not printed. */
export async function startEmulator(): Promise<Emulator & { logs: string[] }> {
  const logs: string[] = [];
  const endpoint = await startLocalRedisRest({ token: `t-${randomUUID()}`, log: (line) => logs.push(line) });
  const request = (path: string, options: RequestOptions = {}) => send(endpoint, path, options);
  const post = (path: string, body: unknown, options: RequestOptions = {}) =>
    request(path, { method: "POST", body, ...options });
  return {
    ...endpoint,
    logs,
    request,
    post,
    async command(...args) {
      const answer = await post("/", args);
      if (answer.status !== 200)
        throw new Error(`${JSON.stringify(args)} -> ${answer.status} ${answer.text}`);
      return (answer.json as { result: unknown }).result;
    },
  };
}

/** Sends one request to a REST endpoint, SRH-style headers unless overridden. */
export async function send(
  endpoint: { url: string; token: string },
  path: string,
  options: RequestOptions = {},
): Promise<Answer> {
  const method = options.method ?? "GET";
  const headers: Record<string, string> = {};
  if (method !== "GET") {
    if (options.contentType !== null) headers["content-type"] = options.contentType ?? "application/json";
    if (options.authorization !== null)
      headers.authorization = options.authorization ?? `Bearer ${endpoint.token}`;
  }
  if (options.base64) headers["upstash-encoding"] = "base64";
  Object.assign(headers, options.headers);
  const { body } = options;
  const response = await fetch(endpoint.url + path, {
    method,
    headers,
    body: body === undefined ? undefined : typeof body === "string" ? body : JSON.stringify(body),
  });
  const text = await response.text();
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    json = undefined;
  }
  return { status: response.status, headers: response.headers, text, json };
}

/** Records what the client sends through the global fetch: path and JSON body of each request. */
export function recordRequests(): () => { path: string; body: unknown }[] {
  const spy = vi.spyOn(globalThis, "fetch");
  return () =>
    spy.mock.calls.map(([input, init]) => ({
      path: new URL(String(input)).pathname,
      body: JSON.parse(String(init?.body)),
    }));
}

/** The command names of recorded requests, pipelines flattened. */
export function commandNames(requests: { body: unknown }[]): string[] {
  return requests.flatMap(({ body }) => {
    const commands = Array.isArray((body as unknown[])[0]) ? (body as unknown[][]) : [body as unknown[]];
    return commands.map((command) => String(command[0]));
  });
}

/** A key prefix of its own for each test, so tests never depend on each other's keys. */
export function keys(): (name: string) => string {
  const prefix = randomUUID().slice(0, 8);
  return (name) => `${prefix}:${name}`;
}

/** The byte-exact SRH strings the tests assert, kept apart from the server's own copy on purpose. */
export const SRH = {
  welcome: '"Welcome to Serverless Redis HTTP!"',
  notFound: '{"error":"SRH: Endpoint not found. SRH might not support this feature yet."}',
  contentType: '{"error":"Invalid content type. Expected application/json."}',
  authorization: '{"error":"Missing/Invalid authorization header"}',
  commandArray:
    '{"error":"Invalid command array. Expected a string array at root of the command and its arguments."}',
  pipelineArray: '{"error":"Invalid command array. Expected an array of string arrays at root."}',
  token: '{"error":"Invalid token"}',
  unavailable: '{"error":"SRH: Unable to connect to the Redis server. See SRH logs for more information."}',
  execAbort: '{"error":"EXECABORT Transaction discarded because of previous errors."}',
  wrongType: '{"error":"WRONGTYPE Operation against a key holding the wrong kind of value"}',
  notInteger: '{"error":"ERR value is not an integer or out of range"}',
  noScript: '{"error":"NOSCRIPT No matching script. Please use EVAL."}',
} as const;
