import { type KeyRing, keyRing } from "./http/api-keys.ts";
import { createLimiter, type Limiter } from "./limiter/limiter.ts";
import { createOverrides, type Overrides } from "./limiter/overrides.ts";
import { createRedisEndpoint } from "./limiter/redis-endpoint.ts";
import { createLogger, type Logger } from "./log.ts";
import { createMetrics, type Metrics } from "./metrics.ts";
import { loadSettings } from "./settings.ts";

/**
 * What a request needs from its environment, built once per `env` object: the isolate's one cache
 * of per-environment state (Redis client, breaker, what it knows of each bucket, key digests).
 */
export interface Services {
  log: Logger;
  limiter: Limiter;
  overrides: Overrides;
  /** `API_KEYS`, ready to compare; undefined when unset (no key needed). */
  apiKeys?: KeyRing;
  /** `ADMIN_API_KEYS`, likewise; undefined when unset (no admin API). */
  adminKeys?: KeyRing;
  /** Present when an Analytics Engine dataset is bound as `ANALYTICS`. */
  metrics?: Metrics;
}

/** Where buckets and overrides live in Redis: `<prefix>:<tier>:<identifier>`. */
const KEY_PREFIX = "ratelimit";

const built = new WeakMap<object, Services>();

/** The services of an environment; throws a `SettingsError` naming any invalid variable. */
export function servicesFor(env: object): Services {
  let services = built.get(env);
  if (services === undefined) {
    const settings = loadSettings(env);
    const log = createLogger(settings.LOG_LEVEL);
    const endpoint = createRedisEndpoint(settings);
    services = {
      log,
      limiter: createLimiter(settings, log, { endpoint, prefix: KEY_PREFIX }),
      overrides: createOverrides(endpoint, KEY_PREFIX, settings),
      apiKeys: keyRing(settings.API_KEYS),
      adminKeys: keyRing(settings.ADMIN_API_KEYS),
    };
    // Optional: the binding may be removed from wrangler.toml, whatever the generated type says.
    const dataset = (env as Partial<Env>).ANALYTICS;
    // The identifier's hash is keyed with a secret the Worker already holds.
    if (dataset !== undefined) services.metrics = createMetrics(dataset, settings.UPSTASH_REDIS_REST_TOKEN);
    built.set(env, services);
  }
  return services;
}

/** Hono's environment for this Worker: the generated bindings, and the services per request. */
export interface AppEnv {
  Bindings: Env;
  Variables: { services: Services; adminKey?: number };
}
