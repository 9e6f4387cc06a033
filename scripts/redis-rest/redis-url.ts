/** Where and how to reach redis-server, parsed once from a `redis://` or `rediss://` URL. */
export interface RedisTarget {
  host: string;
  port: number;
  tls: boolean;
  /** Sent with AUTH on every new connection when set. */
  username?: string;
  password?: string;
  /** Sent with SELECT on every new connection when set (the URL's path, e.g. `/2`). */
  db?: number;
}

/**
 * Parses a Redix-style connection string: `redis://[[user]:password@]host[:port][/db]`; `rediss://` for TLS.
 * Throws on anything else, because SRH silently fails on a string without a scheme (SRH issue #3).
 * @example parseRedisUrl("redis://:secret@127.0.0.1:6380/1")
 */
export function parseRedisUrl(text: string): RedisTarget {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    throw new Error(`Invalid Redis URL "${text}": expected redis://host:port or rediss://host:port`);
  }
  if (url.protocol !== "redis:" && url.protocol !== "rediss:") {
    throw new Error(`Invalid Redis URL "${text}": the scheme must be redis:// or rediss://`);
  }
  const target: RedisTarget = {
    // URL keeps the brackets of an IPv6 literal; net.connect wants it without.
    host: url.hostname.replace(/^\[(.*)\]$/, "$1") || "127.0.0.1",
    port: url.port ? Number(url.port) : 6379,
    tls: url.protocol === "rediss:",
  };
  if (url.password) target.password = decodeURIComponent(url.password);
  if (url.username) target.username = decodeURIComponent(url.username);
  const db = url.pathname.replace(/^\//, "");
  if (db) {
    if (!/^\d+$/.test(db)) throw new Error(`Invalid Redis URL "${text}": the path must be a database number`);
    target.db = Number(db);
  }
  return target;
}

/** The commands a new connection sends before any request: AUTH and SELECT as the URL asks. */
export function setupCommands(target: RedisTarget): string[][] {
  const commands: string[][] = [];
  if (target.password !== undefined) {
    commands.push(target.username ? ["AUTH", target.username, target.password] : ["AUTH", target.password]);
  }
  if (target.db !== undefined && target.db !== 0) commands.push(["SELECT", String(target.db)]);
  return commands;
}
