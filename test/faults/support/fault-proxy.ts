/**
 * The fault proxy: an HTTP server between the Worker under test and the Redis REST server, which passes
 * every request through unchanged until a test sets a fault. Faults (see ./faults.ts) apply to every
 * request or only to script calls (EVALSHA/EVAL), optionally to the first N only:
 *   delay N ms after forwarding · hang (no forward, no answer) · drop the reply after forwarding ·
 *   HTML 502 (no forward) · 200 with the real reply cut in half · 200 with any other body (wrong types, null).
 * It also counts what it received, and drives redis-server, so tests running in workerd control it all
 * over HTTP. These paths are answered by the proxy itself and never forwarded:
 *   POST /__fault  (a Fault as JSON)     sets the fault, replacing any other
 *   POST /__clear                        clears it and releases hung requests (by closing them)
 *   POST /__reset                        clears it and zeroes the counters
 *   GET  /__stats                        the counters, a ProxyStats
 *   POST /__redis/{stop,kill,pause,resume,start}   SIGTERM, SIGKILL, SIGSTOP, SIGCONT, start on the same port
 * To add a fault: a new member of FaultAction in ./faults.ts, its case in `applyFault` below, and a row in
 * test/faults/README.md.
 */
import http, { type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { commandsOf, type Fault, type ProxyStats, type RedisAction, SCRIPT_COMMANDS } from "./faults.ts";
import type { RedisControl } from "./redis-control.ts";

/** A running proxy. */
export interface FaultProxy {
  /** e.g. `http://127.0.0.1:41235`, for UPSTASH_REDIS_REST_URL. */
  url: string;
  close(): Promise<void>;
}

const FAULT_TYPES = new Set(["delay", "hang", "drop", "html-502", "truncate", "replace"]);
const REDIS_ACTIONS = new Set<string>(["stop", "kill", "pause", "resume", "start"]);
// Hop-by-hop headers, and the ones fetch() sets itself.
const SKIPPED_HEADERS = new Set(["host", "connection", "keep-alive", "content-length", "transfer-encoding"]);

interface Reply {
  status: number;
  contentType: string;
  body: string;
}

/**
 * Starts the proxy on a free 127.0.0.1 port in front of `target` (the REST server's URL); `redis`, when
 * given, is what `/__redis/*` drives.
 * @example const proxy = await startFaultProxy({ target: rest.url, redis });
 */
export async function startFaultProxy(options: {
  target: string;
  redis?: RedisControl;
}): Promise<FaultProxy> {
  let fault: Fault | undefined;
  let remaining = Number.POSITIVE_INFINITY;
  let stats: ProxyStats = { all: 0, scripts: 0, commands: {} };
  // Requests held by "hang", and answers waiting out a "delay": released by /__clear and close().
  const held = new Set<ServerResponse>();
  const timers = new Set<NodeJS.Timeout>();

  const clear = () => {
    fault = undefined;
    for (const response of held) response.destroy();
    held.clear();
  };

  async function control(path: string, body: string): Promise<Reply | undefined> {
    if (path === "/__stats") return json(200, stats);
    if (path === "/__clear") {
      clear();
      return json(200, { cleared: true });
    }
    if (path === "/__reset") {
      clear();
      stats = { all: 0, scripts: 0, commands: {} };
      return json(200, { reset: true });
    }
    if (path === "/__fault") {
      const parsed = JSON.parse(body) as Fault;
      if (!FAULT_TYPES.has(parsed.type) || !["all", "scripts"].includes(parsed.scope))
        return json(400, { error: `not a fault: ${body}` });
      clear();
      fault = parsed;
      remaining = parsed.times ?? Number.POSITIVE_INFINITY;
      return json(200, fault);
    }
    const action = path.match(/^\/__redis\/(\w+)$/)?.[1];
    if (action !== undefined && REDIS_ACTIONS.has(action) && options.redis) {
      await options.redis.act(action as RedisAction);
      return json(200, { redis: action });
    }
    return path.startsWith("/__") ? json(404, { error: `no control path ${path}` }) : undefined;
  }

  async function forward(request: IncomingMessage, body: Buffer): Promise<Reply> {
    const headers = new Headers();
    for (const [name, value] of Object.entries(request.headers)) {
      if (typeof value === "string" && !SKIPPED_HEADERS.has(name)) headers.set(name, value);
    }
    const response = await fetch(options.target + (request.url ?? "/"), {
      method: request.method,
      headers,
      body: request.method === "GET" || request.method === "HEAD" ? undefined : body,
    });
    return {
      status: response.status,
      contentType: response.headers.get("content-type") ?? "application/json",
      body: await response.text(),
    };
  }

  /** Whether the fault applies to a request with these commands, counting it against `times`. */
  function matches(commands: string[]): boolean {
    if (fault === undefined || remaining <= 0) return false;
    if (fault.scope === "scripts" && !commands.some((name) => SCRIPT_COMMANDS.has(name))) return false;
    remaining--;
    return true;
  }

  async function applyFault(
    active: Fault,
    request: IncomingMessage,
    body: Buffer,
    response: ServerResponse,
  ): Promise<void> {
    switch (active.type) {
      case "hang":
        held.add(response);
        response.once("close", () => held.delete(response));
        return;
      case "html-502":
        return send(response, {
          status: 502,
          contentType: "text/html",
          body: "<html><head><title>502 Bad Gateway</title></head><body><h1>502 Bad Gateway</h1></body></html>",
        });
    }
    // Every other fault lets Redis run the command first.
    const reply = await forward(request, body);
    switch (active.type) {
      case "delay": {
        const timer = setTimeout(() => {
          timers.delete(timer);
          send(response, reply);
        }, active.ms);
        timers.add(timer);
        return;
      }
      case "drop":
        request.socket.destroy();
        return;
      case "truncate":
        return send(response, { ...reply, status: 200, body: reply.body.slice(0, reply.body.length >> 1) });
      case "replace":
        return send(response, { status: 200, contentType: "application/json", body: active.body });
    }
  }

  const server = http.createServer(async function faultProxyHandler(request, response) {
    try {
      const body = await readBody(request);
      const path = new URL(request.url ?? "/", "http://proxy").pathname;
      const answer = await control(path, body.toString("utf8"));
      if (answer) return send(response, answer);

      const commands = request.method === "POST" ? commandsOf(parseJson(body)) : [];
      stats.all++;
      if (commands.some((name) => SCRIPT_COMMANDS.has(name))) stats.scripts++;
      for (const name of commands) stats.commands[name] = (stats.commands[name] ?? 0) + 1;

      const active = fault;
      if (active !== undefined && matches(commands)) return await applyFault(active, request, body, response);
      send(response, await forward(request, body));
    } catch (error) {
      send(response, json(500, { error: `fault proxy: ${String(error)}` }));
    }
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    async close() {
      clear();
      for (const timer of timers) clearTimeout(timer);
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      server.closeAllConnections();
      await closed;
    },
  };
}

function readBody(request: IncomingMessage): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    request.on("data", (chunk: Buffer) => chunks.push(chunk));
    request.once("end", () => resolve(Buffer.concat(chunks)));
    request.once("error", reject);
  });
}

function parseJson(body: Buffer): unknown {
  try {
    return JSON.parse(body.toString("utf8"));
  } catch {
    return undefined;
  }
}

function json(status: number, value: unknown): Reply {
  return { status, contentType: "application/json", body: JSON.stringify(value) };
}

function send(response: ServerResponse, reply: Reply): void {
  // The client may have gone (the Worker gave up at its deadline): nothing to answer then.
  if (response.destroyed || response.headersSent) return;
  response.writeHead(reply.status, {
    "content-type": reply.contentType,
    "content-length": Buffer.byteLength(reply.body),
  });
  response.end(reply.body);
}
