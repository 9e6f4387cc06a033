import { HonoBase } from "hono/hono-base";
import { RegExpRouter } from "hono/router/reg-exp-router";
import { admin } from "./http/admin.ts";
import { requireApiKey } from "./http/api-keys.ts";
import { checkHandler } from "./http/check.ts";
import { docsHandler, docsInitializerHandler } from "./http/docs.ts";
import { handleError, methodNotAllowed, notFound } from "./http/errors.ts";
import { healthHandler } from "./http/health.ts";
import { openApiHandler } from "./http/openapi.ts";
import { type AppEnv, servicesFor } from "./services.ts";

// `Hono` from "hono" is this HonoBase with a SmartRouter, which settles on the first request on
// RegExpRouter or, for paths RegExpRouter cannot take, TrieRouter. These fixed paths are RegExpRouter's,
// so it alone routes them the same and leaves TrieRouter and SmartRouter out of the script. A route it
// could not take would throw UnsupportedPathError on every request, which any test of the app shows.
const app = new HonoBase<AppEnv>({ router: new RegExpRouter() });

app.use(async function provideServices(c, next) {
  c.set("services", servicesFor(c.env));
  await next();
});

// The handler reads the body itself, within 4 KiB (413 past that), once the key has been checked.
app.post("/check", requireApiKey, checkHandler);
app.get("/health", healthHandler);
app.all("/check", methodNotAllowed("POST"));
app.all("/health", methodNotAllowed("GET, HEAD"));
app.get("/openapi.json", openApiHandler);
app.get("/docs", docsHandler);
app.get("/docs/init.js", docsInitializerHandler);
app.all("/openapi.json", methodNotAllowed("GET, HEAD"));
app.all("/docs", methodNotAllowed("GET, HEAD"));
app.route("/admin", admin);

app.notFound(notFound);
app.onError(handleError);

export default app;
export { RateLimiter } from "./gate/rpc.ts";
