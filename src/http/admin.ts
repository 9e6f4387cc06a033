import type { Context } from "hono";
import { HonoBase } from "hono/hono-base";
import { PatternRouter } from "hono/router/pattern-router";
import { TIER_NAME } from "../config/tier-name.ts";
import { type NamedTier, resolveTier } from "../config/tiers.ts";
import { InvalidInputError, invalidBody, invalidInput, toValidationIssue } from "../limiter/check-input.ts";
import type { Override } from "../limiter/overrides.ts";
import type { Logger } from "../log.ts";
import type { AppEnv } from "../services.ts";
import { IdentifierSchema, overrideSchemaFor } from "./admin-schemas.ts";
import { requireAdminKey } from "./api-keys.ts";
import { apiError } from "./errors.ts";
import { readBodyText } from "./read-body.ts";

/**
 * The admin API, under `/admin/`: per-identifier overrides (set, read, list, delete) and bucket
 * state (read, reset). It exists only when `ADMIN_API_KEYS` is set, and takes only those keys.
 * Every change is logged at INFO with the admin key's index (never the key, never the identifier).
 */
export const admin = new HonoBase<AppEnv>({ router: new PatternRouter() });

admin.use(requireAdminKey);

admin.get("/overrides", async function listOverrides(c) {
  return c.json({ overrides: await c.var.services.overrides.list() });
});

admin.put("/overrides/:tier/:identifier", async function setOverride(c) {
  const { tier, identifier } = target(c);
  const override = parseOverride(await readJson(c.req.raw, c.var.services.log));
  await c.var.services.overrides.set(tier, identifier, override);
  changed(c, "override set", tier.name, identifier);
  return c.json({ tier: tier.name, identifier, override });
});

admin.get("/overrides/:tier/:identifier", async function getOverride(c) {
  const { tierName, identifier } = namedTarget(c);
  const override = await c.var.services.overrides.get(tierName, identifier);
  if (override === undefined) throw apiError(404, "No override for this identifier on this tier");
  return c.json({ tier: tierName, identifier, override });
});

admin.delete("/overrides/:tier/:identifier", async function deleteOverride(c) {
  const { tierName, identifier } = namedTarget(c);
  if (!(await c.var.services.overrides.delete(tierName, identifier))) {
    throw apiError(404, "No override for this identifier on this tier");
  }
  changed(c, "override deleted", tierName, identifier);
  return c.body(null, 204);
});

admin.get("/buckets/:tier/:identifier", async function readBucket(c) {
  const { tier, identifier } = target(c);
  return c.json(await c.var.services.overrides.bucket(tier, identifier, Date.now()));
});

admin.delete("/buckets/:tier/:identifier", async function resetBucket(c) {
  const { tier, identifier } = target(c);
  await c.var.services.overrides.reset(tier, identifier);
  changed(c, "bucket reset", tier.name, identifier);
  return c.body(null, 204);
});

/** The tier and identifier a path names, checked as `POST /check` checks them. */
function target(c: Context<AppEnv>): { tier: NamedTier; identifier: string } {
  const tierName = c.req.param("tier") ?? "";
  const tier = resolveTier(tierName);
  if (tier === undefined) throw unknownTier(tierName);
  return { tier, identifier: identifierOf(c) };
}

/**
 * The tier name and identifier a path names, whether or not config.yaml still has that tier: an
 * override outlives its tier, and must still be read and deleted. A name no tier could have is
 * refused: with a ':' it would name another tier's key (tier `free:x`, identifier `y` is tier
 * `free`, identifier `x:y`).
 */
function namedTarget(c: Context<AppEnv>): { tierName: string; identifier: string } {
  const tierName = c.req.param("tier") ?? "";
  if (!TIER_NAME.test(tierName)) throw unknownTier(tierName);
  return { tierName, identifier: identifierOf(c) };
}

const unknownTier = (name: string) => new InvalidInputError("unknown-tier", `Invalid tier: ${name}`);

/** The identifier a path names, checked as `POST /check` checks it. */
function identifierOf(c: Context<AppEnv>): string {
  const identifier = IdentifierSchema.safeParse(c.req.param("identifier"));
  if (!identifier.success) {
    const issues = identifier.error.issues.map((issue) => toValidationIssue(issue, {}));
    throw invalidInput(issues.map((issue) => ({ ...issue, loc: ["path", "identifier"] })));
  }
  return identifier.data;
}

/** A JSON body of at most 4 KiB, read as `POST /check` reads its own. */
async function readJson(request: Request, log: Logger): Promise<unknown> {
  const text = await readBodyText(request, request.headers.get("content-length"), 4096, log);
  try {
    return JSON.parse(text);
  } catch {
    throw invalidBody("JSON decode error", "json_invalid");
  }
}

function parseOverride(body: unknown): Override {
  const result = overrideSchemaFor(body).safeParse(body);
  if (result.success) return result.data;
  const fields = typeof body === "object" && body !== null ? (body as Record<string, unknown>) : {};
  throw invalidInput(result.error.issues.map((issue) => toValidationIssue(issue, fields)));
}

/** The audit line of an admin change; this isolate also forgets what it cached of the bucket. */
function changed(c: Context<AppEnv>, what: string, tierName: string, identifier: string) {
  c.var.services.limiter.forget(tierName, identifier);
  c.var.services.log.info(`admin: ${what}`, { tier: tierName, admin_key: c.var.adminKey });
}
