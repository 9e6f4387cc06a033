/**
 * The delay proxy of `npm run bench -- --rtt MS`: an HTTP proxy between the Workers and the REST server
 * that adds MS to every round trip, as if Redis were in a region away from the edge location. A request
 * waits half of it before it is forwarded and its reply the other half before it is sent back: each
 * crosses half the distance, so Redis runs the command when it would (the Worker's clock, passed in ARGV,
 * is MS/2 old by then) and the Worker sees the reply when it would. Connections on both sides are kept
 * alive, as workerd's and Upstash's are, so no request pays for a handshake the real path would not.
 *
 * main.ts runs it in a worker thread of its own (see the bottom of this file), so that its work does not
 * queue in front of the REST server's on the main thread.
 */
import http, { type IncomingMessage } from "node:http";
import type { AddressInfo } from "node:net";
import { setTimeout as sleep } from "node:timers/promises";
import { parentPort, workerData } from "node:worker_threads";

/** A running proxy. */
export interface DelayProxy {
  /** e.g. `http://127.0.0.1:41235`: the REST endpoint the Workers are given. */
  url: string;
  close(): Promise<void>;
}

// Hop-by-hop headers: each side of the proxy has its own connection.
const HOP_BY_HOP = new Set(["connection", "keep-alive", "transfer-encoding", "host"]);

/**
 * Starts the proxy on a free 127.0.0.1 port in front of `target` (the REST server's URL), adding `rttMs`
 * to each round trip.
 * @example const proxy = await startDelayProxy({ target: rest.url, rttMs: 20 });
 */
export async function startDelayProxy(options: { target: string; rttMs: number }): Promise<DelayProxy> {
  const target = new URL(options.target);
  const there = Math.floor(options.rttMs / 2);
  const back = options.rttMs - there;
  const agent = new http.Agent({ keepAlive: true });

  const server = http.createServer(async function delayProxyHandler(request, response) {
    try {
      const body = await readAll(request);
      await sleep(there);
      const headers = Object.fromEntries(
        Object.entries(request.headers).filter(([name]) => !HOP_BY_HOP.has(name)),
      );
      const reply = await new Promise<{ status: number; headers: http.OutgoingHttpHeaders; body: Buffer }>(
        (resolve, reject) => {
          const forwarded = http.request(
            {
              host: target.hostname,
              port: target.port,
              path: request.url,
              method: request.method,
              headers,
              agent,
            },
            (upstream) => {
              readAll(upstream).then(
                (bytes) =>
                  resolve({ status: upstream.statusCode ?? 502, headers: upstream.headers, body: bytes }),
                reject,
              );
            },
          );
          forwarded.once("error", reject);
          forwarded.end(body);
        },
      );
      await sleep(back);
      const replyHeaders = Object.fromEntries(
        Object.entries(reply.headers).filter(([name]) => !HOP_BY_HOP.has(name)),
      );
      response.writeHead(reply.status, replyHeaders).end(reply.body);
    } catch (error) {
      response.writeHead(502, { "content-type": "application/json" });
      response.end(JSON.stringify({ error: `delay proxy: ${String(error)}` }));
    }
  });
  // Longer than Node's 5 s default: an idle connection closed under a Worker's next request would fail it.
  server.keepAliveTimeout = 60_000;
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    async close() {
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      server.closeAllConnections();
      agent.destroy();
      await closed;
    },
  };
}

function readAll(stream: IncomingMessage): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    stream.on("data", (chunk: Buffer) => chunks.push(chunk));
    stream.once("end", () => resolve(Buffer.concat(chunks)));
    stream.once("error", reject);
  });
}

/** Set as `workerData` when main.ts starts this file as a worker thread. */
export interface DelayProxyThreadData {
  delayProxy: { target: string; rttMs: number };
}

const data = workerData as DelayProxyThreadData | undefined;
if (parentPort && data?.delayProxy) {
  const port = parentPort;
  const proxy = await startDelayProxy(data.delayProxy);
  port.postMessage(proxy.url);
  port.once("message", () => void proxy.close().then(() => port.close()));
}
