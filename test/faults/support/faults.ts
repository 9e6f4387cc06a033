/**
 * The faults the fault proxy (./fault-proxy.ts) can inject, and its counters: shared by the proxy (Node)
 * and the tests (workerd), so this file imports nothing.
 */

/** What the proxy does to a matching request instead of passing it through unchanged. */
export type FaultAction =
  /** Forward, then wait `ms` before answering: Redis ran the command, the reply comes late. */
  | { type: "delay"; ms: number }
  /** Never answer and never forward: a backend that accepted the connection and went silent. */
  | { type: "hang" }
  /** Forward, then destroy the client socket instead of answering: Redis ran it, the reply is lost. */
  | { type: "drop" }
  /** Answer an HTML 502 without forwarding, as a load balancer in front of a dead backend does. */
  | { type: "html-502" }
  /** Forward, then answer 200 with the first half of the real reply: JSON cut short. */
  | { type: "truncate" }
  /** Forward, then answer 200 with `body` instead, e.g. `{"result":null}` or `{"result":[1,"x"]}`. */
  | { type: "replace"; body: string };

/** A fault and which requests it applies to. */
export type Fault = FaultAction & {
  /** "scripts": only bodies whose command is EVALSHA or EVAL (so /health's PING passes); "all": every one. */
  scope: "all" | "scripts";
  /** Apply to the first `times` matching requests only, then pass requests through. @default every one */
  times?: number;
};

/** What the proxy received since it started or since the last `POST /__reset` (control paths excluded). */
export interface ProxyStats {
  /** Every request. */
  all: number;
  /** Requests whose command is EVALSHA or EVAL. */
  scripts: number;
  /** Per command name, upper-case, e.g. `{ EVALSHA: 3, PING: 1 }`. */
  commands: Record<string, number>;
}

/** The commands that run the limiter's script. */
export const SCRIPT_COMMANDS: ReadonlySet<string> = new Set(["EVALSHA", "EVAL", "EVALSHA_RO", "EVAL_RO"]);

/** The upper-case command names in a REST body: `["EVALSHA", …]` or a pipeline `[["PING"], …]`. */
export function commandsOf(body: unknown): string[] {
  if (!Array.isArray(body) || body.length === 0) return [];
  const commands = Array.isArray(body[0]) ? body : [body];
  return commands.flatMap((command) =>
    Array.isArray(command) && typeof command[0] === "string" ? [command[0].toUpperCase()] : [],
  );
}

/** The actions of redis-server's process that `POST /__redis/<action>` performs. */
export type RedisAction = "stop" | "kill" | "pause" | "resume" | "start";
