import type { LogLevel } from "./settings.ts";

const rank: Record<LogLevel, number> = { DEBUG: 10, INFO: 20, WARNING: 30, ERROR: 40 };

export type LogFields = Record<string, string | number | boolean | null | undefined>;

/** Writes one JSON object per line at or above a level. */
export interface Logger {
  debug(msg: string, fields?: LogFields): void;
  info(msg: string, fields?: LogFields): void;
  warning(msg: string, fields?: LogFields): void;
  error(msg: string, fields?: LogFields): void;
}

/**
 * A logger that drops lines below `threshold`. Callers pass only fields that are safe to keep:
 * never tokens, keys or identifiers.
 */
export function createLogger(threshold: LogLevel): Logger {
  const write =
    (level: LogLevel) =>
    (msg: string, fields: LogFields = {}) => {
      if (rank[level] < rank[threshold]) return;
      const line = JSON.stringify({ level, msg, ...fields });
      if (level === "ERROR") console.error(line);
      else if (level === "WARNING") console.warn(line);
      else console.log(line);
    };
  return { debug: write("DEBUG"), info: write("INFO"), warning: write("WARNING"), error: write("ERROR") };
}
