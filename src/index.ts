import { Hono } from "hono";
import { bodyLimit } from "hono/body-limit";
import { admin } from "./http/admin.ts";
import { requireApiKey } from "./http/api-keys.ts";
import { checkHandler } from "./http/check.ts";
import { docsHandler, docsInitializerHandler } from "./http/docs.ts";
import { apiError, handleError, methodNotAllowed, notFound } from "./http/errors.ts";
import { healthHandler } from "./http/health.ts";
import { openApiHandler } from "./http/openapi.ts";
import { type AppEnv, servicesFor } from "./services.ts";

const MAX_BODY_BYTES = 4096;

const app = new Hono<AppEnv>();

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
app.route("/admin", admin);

app.notFound(notFound);
app.onError(handleError);

export default app;
export { RateLimiter } from "./gate/rpc.ts";
