import { createExecutionContext, waitOnExecutionContext } from "cloudflare:test";
import { env, exports } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import configYaml from "../../config.yaml?raw";
import consumerSource from "../../examples/consumer/src/index.ts?raw";
import consumerToml from "../../examples/consumer/wrangler.toml?raw";
import readme from "../../README.md?raw";
import worker from "../../src/index.ts";
import { fencesOf, scriptsOf } from "./readme-examples.ts";

/*
 * Every example of the README, run against the Worker in workerd as a reader would run it against
 * `npm run dev` (parsed by readme-examples.ts). Each script gets identifiers of its own, so the figures it
 * documents (99 tokens left, say) are those of fresh buckets whatever ran before; values that change from
 * run to run (`reset_at`, `updated_at`) are compared by type, everything else exactly.
 */

/** Body fields whose values change from run to run: only their type is compared. */
const VARYING = new Set(["reset_at", "updated_at"]);

/** A script's identifiers made its own (in bodies, admin paths and documented answers), and bodies compared. */
function scoped(prefix: string) {
  /** A body as compared: the type alone of what varies; in a documented one, the script's own identifiers. */
  const comparable = (value: unknown, documented: boolean, key?: string): unknown => {
    if (key !== undefined && VARYING.has(key)) return value === null ? null : typeof value;
    if (documented && key === "identifier" && typeof value === "string") return prefix + value;
    if (Array.isArray(value)) return value.map((item) => comparable(item, documented));
    if (value !== null && typeof value === "object") {
      return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, comparable(v, documented, k)]));
    }
    return value;
  };
  return {
    body: (body: string) => body.replace(/("identifier"\s*:\s*")/g, `$1${prefix}`),
    path: (path: string) => path.replace(/^(\/admin\/(?:overrides|buckets)\/[^/]+\/)/, `$1${prefix}`),
    expected: (documented: unknown) => comparable(documented, true),
    actual: (answered: unknown) => comparable(answered, false),
  };
}

/** The Worker with the script's exported variables, one environment (one isolate's state) per script. */
function workerFor(vars: Record<string, string>) {
  if (Object.keys(vars).length === 0) return (request: Request) => exports.default.fetch(request);
  const scriptEnv = { ...env, ...vars } as Env;
  return async (request: Request) => {
    const ctx = createExecutionContext();
    const response = await worker.fetch(request, scriptEnv, ctx);
    await waitOnExecutionContext(ctx);
    return response;
  };
}

const found = scriptsOf(readme);
const fences = fencesOf(readme);

describe("the README's examples", () => {
  it("are found: every curl with an answer, and the 429 shown with its headers", () => {
    const commands = found.flatMap((script) => script.commands);
    expect(commands.filter((command) => command.answer).length).toBeGreaterThanOrEqual(15);
    expect(commands.some((command) => command.answer?.status === 429)).toBe(true);
    expect(commands.some((command) => Object.keys(command.answer?.headers ?? {}).length > 0)).toBe(true);
  });

  for (const script of found) {
    it(`answer as documented under ${script.title}`, async () => {
      const own = scoped(`readme-${crypto.randomUUID().slice(0, 8)}-`);
      const send = workerFor(script.vars);
      for (const command of script.commands) {
        const request = new Request(`http://localhost:8787${own.path(command.path)}`, {
          method: command.method,
          headers: command.headers,
          body: command.body === undefined ? undefined : own.body(command.body),
        });
        const response = await send(request);
        const text = await response.text();
        const { answer } = command;
        if (answer === undefined) {
          expect(response.status, command.line).toBeLessThan(400);
          continue;
        }
        expect(response.status, command.line).toBe(answer.status);
        for (const [name, value] of Object.entries(answer.headers)) {
          expect(`${name}: ${response.headers.get(name)}`, command.line).toBe(`${name}: ${value}`);
        }
        if (answer.body === undefined) continue;
        expect(own.actual(JSON.parse(text)), command.line).toEqual(own.expected(answer.body));
      }
    });
  }
});

describe("the README's other examples", () => {
  it("shows the repository's config.yaml, its comments left out", () => {
    const shown = fences.find((fence) => fence.lang === "yaml")?.text;
    const uncommented = configYaml
      .split("\n")
      .filter((line) => !/^\s*#/.test(line))
      .join("\n");
    expect(shown).toBe(`${uncommented.trimEnd()}\n`);
  });

  it("takes its TypeScript and wrangler.toml lines from the example consumer, in order", () => {
    const sources = { ts: consumerSource, toml: consumerToml };
    for (const fence of fences.filter((f) => f.lang === "ts" || f.lang === "toml")) {
      const source = sources[fence.lang as "ts" | "toml"].split("\n").map((line) => line.trim());
      let at = 0;
      for (const line of fence.text.split("\n").map((l) => l.trim())) {
        if (line === "") continue;
        const found = source.indexOf(line, at);
        expect(
          found,
          `README ${fence.lang} line not in the example consumer, in order: ${line}`,
        ).toBeGreaterThanOrEqual(0);
        at = found + 1;
      }
    }
  });
});
