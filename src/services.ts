import { createLimiter, type Limiter } from "./limiter/limiter.ts";
import { createLogger, type Logger } from "./log.ts";
import { loadSettings, type Settings } from "./settings.ts";

/** What a request needs from its environment, built once per `env` object. */
export interface Services {
  settings: Settings;
  log: Logger;
  limiter: Limiter;
}

const built = new WeakMap<object, Services>();

/** The services of an environment; throws a `SettingsError` naming any invalid variable. */
export function servicesFor(env: object): Services {
  let services = built.get(env);
  if (services === undefined) {
    const settings = loadSettings(env);
    const log = createLogger(settings.LOG_LEVEL);
    services = { settings, log, limiter: createLimiter(settings, log) };
    built.set(env, services);
  }
  return services;
}

/** Hono's environment for this Worker: the generated bindings, and the services per request. */
export interface AppEnv {
  Bindings: Env;
  Variables: { services: Services };
}
