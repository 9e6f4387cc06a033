/** The fault proxy's controls, over HTTP from workerd (see support/fault-proxy.ts). */
import { inject } from "vitest";
import type { Fault, ProxyStats, RedisAction } from "./support/faults.ts";

const proxyUrl = inject("faultProxyUrl");

async function proxyControl(path: string, body: unknown = {}): Promise<unknown> {
  const response = await fetch(proxyUrl + path, {
    method: path === "/__stats" ? "GET" : "POST",
    headers: { "content-type": "application/json" },
    body: path === "/__stats" ? undefined : JSON.stringify(body),
  });
  if (!response.ok) throw new Error(`${path} -> ${response.status} ${await response.text()}`);
  return response.json();
}

/** Sets the proxy's fault, replacing any other. */
export const setFault = (fault: Fault) => proxyControl("/__fault", fault);
/** Clears the fault and releases hung requests. */
export const clearFault = () => proxyControl("/__clear");
/** What the proxy received so far. */
export const proxyStats = () => proxyControl("/__stats") as Promise<ProxyStats>;
/** SIGTERM, SIGKILL, SIGSTOP, SIGCONT or start redis-server (on the same port). */
export const redisProcess = (action: RedisAction) => proxyControl(`/__redis/${action}`);

/** The script calls the proxy receives while `run` runs. */
export async function scriptCallsDuring(run: () => Promise<unknown>): Promise<number> {
  const before = (await proxyStats()).scripts;
  await run();
  return (await proxyStats()).scripts - before;
}
