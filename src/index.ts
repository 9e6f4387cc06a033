import { bodyLimit } from "hono/body-limit";
import { HonoBase } from "hono/hono-base";
import { RegExpRouter } from "hono/router/reg-exp-router";
import { requireApiKey } from "./http/api-keys.ts";
import { checkHandler } from "./http/check.ts";
import { docsHandler, docsInitializerHandler } from "./http/docs.ts";
import { apiError, handleError, methodNotAllowed, notFound } from "./http/errors.ts";
import { healthHandler } from "./http/health.ts";
import { openApiHandler } from "./http/openapi.ts";
import { type AppEnv, servicesFor } from "./services.ts";

const MAX_BODY_BYTES = 4096;

// `Hono` from "hono" is this HonoBase with a SmartRouter, which settles on the first request on
// RegExpRouter or, for paths RegExpRouter cannot take, TrieRouter. These fixed paths are RegExpRouter's,
// so it alone routes them the same and leaves TrieRouter and SmartRouter out of the script. A route it
// could not take would throw UnsupportedPathError on every request, which any test of the app shows.
const app = new HonoBase<AppEnv>({ router: new RegExpRouter() });

app.use(async function provideServices(c, next) {
  c.set("services", servicesFor(c.env));
  await next();
});

app.post(
  "/check",
  requireApiKey,
  bodyLimit({
    maxSize: MAX_BODY_BYTES,
    onError: () => {
      throw apiError(413, "Request body too large");
    },
  }),
  checkHandler,
);
app.get("/health", healthHandler);
app.all("/check", methodNotAllowed("POST"));
app.all("/health", methodNotAllowed("GET, HEAD"));
app.get("/openapi.json", openApiHandler);
app.get("/docs", docsHandler);
app.get("/docs/init.js", docsInitializerHandler);
app.all("/openapi.json", methodNotAllowed("GET, HEAD"));
app.all("/docs", methodNotAllowed("GET, HEAD"));

app.notFound(notFound);
app.onError(handleError);

export default app;
export { RateLimiter } from "./gate/rpc.ts";
