import * as z from "zod/mini";

const integerString = (min: number, max: number, fallback: number) => {
  const error = `must be an integer from ${min} to ${max}`;
  return z._default(
    z.coerce
      .number<string | number>({ error })
      .check(z.int({ error }), z.minimum(min, { error }), z.maximum(max, { error })),
    fallback,
  );
};

/** Whether `value` is an absolute http: or https: URL. */
const isHttpUrl = (value: string) => URL.canParse(value) && /^https?:$/.test(new URL(value).protocol);

/**
 * A comma-separated list of keys (several at once for rotation); none when unset or empty. Set to
 * something with no key in it (" , ") is a mistake, not a wish for an open endpoint: failing every
 * request says so, where turning keys off would not.
 */
const keyList = z.pipe(
  z.optional(z.string({ error: "must be a string" })),
  z.transform((value: string | undefined, ctx) => {
    if (value === undefined || value === "") return [];
    const keys = value
      .split(",")
      .map((key) => key.trim())
      .filter((key) => key !== "");
    if (keys.length === 0) {
      ctx.issues.push({
        code: "custom",
        input: value,
        message: "has no key: give comma-separated keys, or leave it unset",
      });
      return z.NEVER;
    }
    return keys;
  }),
);

/**
 * The Worker's environment, validated once per `env` object. Strings come from wrangler
 * `[vars]`, secrets and `.dev.vars`; the parsed type is what the rest of the code sees.
 */
const SettingsSchema = z
  .object({
    UPSTASH_REDIS_REST_URL: z
      .string({ error: "must be an http(s) URL" })
      .check(z.refine(isHttpUrl, "must be an http(s) URL")),
    UPSTASH_REDIS_REST_TOKEN: z.string({ error: "is required" }).check(z.minLength(1, "is required")),
    FAIL_MODE: z.pipe(
      z.pipe(
        z._default(z.string({ error: "must be a string" }), "closed"),
        z.transform((value: string) => value.toLowerCase()),
      ),
      z.enum(["open", "closed"], { error: "must be 'open' or 'closed'" }),
    ),
    LOG_LEVEL: z.pipe(
      z.pipe(
        z._default(z.string({ error: "must be a string" }), "INFO"),
        z.transform((value: string) => value.toUpperCase()),
      ),
      z.enum(["DEBUG", "INFO", "WARNING", "ERROR"], { error: "must be DEBUG, INFO, WARNING or ERROR" }),
    ),
    REDIS_TIMEOUT_MS: integerString(1, 60_000, 1000),
    REDIS_RETRIES: integerString(0, 10, 3),
    LEASE_MS: integerString(0, 60_000, 1000),
    API_KEYS: keyList,
    ADMIN_API_KEYS: keyList,
  })
  .check(
    z.refine((settings) => !settings.ADMIN_API_KEYS.some((key) => settings.API_KEYS.includes(key)), {
      path: ["ADMIN_API_KEYS"],
      error: "must not share a key with API_KEYS",
    }),
  );

export type Settings = z.infer<typeof SettingsSchema>;
export type LogLevel = Settings["LOG_LEVEL"];

/** Raised when a variable is invalid; its message names the variable and never shows the value. */
export class SettingsError extends Error {
  override name = "SettingsError";
}

/**
 * The settings of an `env` object, or a `SettingsError` naming the invalid variables. The Worker
 * parses each environment once, when it builds its services (services.ts).
 */
export function loadSettings(env: object): Settings {
  const result = SettingsSchema.safeParse(env);
  if (!result.success) {
    const problems = result.error.issues.map((issue) => `${issue.path.join(".")} ${issue.message}`);
    throw new SettingsError(`Invalid environment: ${problems.join("; ")}`);
  }
  return result.data;
}
