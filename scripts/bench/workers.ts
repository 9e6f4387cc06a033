/**
 * Runs a bundled Worker in workerd through the pinned Miniflare, with wrangler.toml's compatibility date and
 * flags, on a socket of its own. Miniflare rather than wrangler's unstable_startWorker: the latter puts its
 * dev proxy Worker in front, one more hop that would be counted against the Worker. And the Worker's own
 * socket (`unsafeDirectSockets`) rather than Miniflare's: behind that one, every request first runs
 * Miniflare's entry Worker (its routing, its `cf` object, a second dispatch to the Worker), which took about
 * two thirds of the instructions of a cached decision and so hid most of each Worker's own cost.
 */
import { type Json, Log, LogLevel, Miniflare } from "miniflare";
import { unstable_readConfig } from "wrangler";

/** A Worker listening on 127.0.0.1, on its own socket. */
export interface RunningWorker {
  /** e.g. `http://127.0.0.1:41234/check` */
  checkUrl: string;
  dispose(): Promise<void>;
}

const wrangler = unstable_readConfig({ config: "wrangler.toml" }, { hideWarnings: true });

/** wrangler.toml's `[vars]`: what this project's Worker gets when deployed. */
export const deployedVars: Record<string, unknown> = { ...wrangler.vars };

/** Starts `script` (one ES module) with `vars` as its environment; resolves once it answers. */
export async function startWorker(
  name: string,
  script: string,
  vars: Record<string, unknown>,
): Promise<RunningWorker> {
  if (!wrangler.compatibility_date) throw new Error("wrangler.toml has no compatibility_date");
  const env = Object.fromEntries(
    Object.entries(vars).map(([key, value]) => [
      key,
      typeof value === "string"
        ? { type: "text" as const, value }
        : { type: "json" as const, value: value as Json },
    ]),
  );
  const mf = new Miniflare({
    host: "127.0.0.1",
    port: 0,
    log: new Log(LogLevel.ERROR),
    logRequests: false,
    enableDevRegistry: false,
    workers: [
      {
        config: {
          name,
          compatibilityDate: wrangler.compatibility_date,
          compatibilityFlags: wrangler.compatibility_flags,
          manifest: { mainModule: "index.js", modules: { "index.js": { type: "esm", contents: script } } },
          env,
        },
        dev: { unsafeRegisterWorker: false, unsafeDirectSockets: [{ host: "127.0.0.1", port: 0 }] },
      },
    ],
  });
  try {
    await mf.ready;
    const url = await mf.unsafeGetDirectURL(name);
    return { checkUrl: new URL("/check", url).href, dispose: () => mf.dispose() };
  } catch (error) {
    await mf.dispose().catch(() => {});
    throw error;
  }
}
