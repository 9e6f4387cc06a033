import { HonoBase } from "hono/hono-base";
import { PatternRouter } from "hono/router/pattern-router";
import { admin } from "./http/admin.ts";
import { serveCheck } from "./http/check-route.ts";
import { handleError, methodNotAllowed, notFound } from "./http/errors.ts";
import { healthHandler } from "./http/health.ts";
import { fromStaticAssets } from "./http/static-assets.ts";
import { pathOf } from "./http/url-path.ts";
import { type AppEnv, servicesFor } from "./services.ts";

// `Hono` from "hono" is this HonoBase with a SmartRouter over RegExpRouter and TrieRouter, built for
// many routes. These few, off the hot path (POST /check skips the router, see below), are matched one
// by one by PatternRouter, the smallest router (hono/tiny's): 1.3 KiB less script, gzipped.
const app = new HonoBase<AppEnv>({ router: new PatternRouter() });

// PatternRouter matches every route with or without a trailing slash. This Worker's paths are exact,
// as the fast path's "/check" is: "/check/" is another path, not found, rather than a route whose 405
// names a method (POST) that would then be refused.
app.use(async function exactPaths(c, next) {
  if (c.req.path.length > 1 && c.req.path.endsWith("/")) return c.notFound();
  await next();
});

app.use(async function provideServices(c, next) {
  c.set("services", servicesFor(c.env));
  await next();
});

app.get("/health", healthHandler);
// What the fast path leaves: "/check" spelled with percent-encoding ("/%63heck"), which the router,
// decoding it as RFC 3986 allows, reads as "/check".
app.post("/check", function checkByRouter(c) {
  return serveCheck(c.req.raw, c.env, c.executionCtx);
});
app.all("/check", methodNotAllowed("POST"));
app.all("/health", methodNotAllowed("GET, HEAD"));
app.get("/openapi.json", fromStaticAssets);
app.get("/docs", fromStaticAssets);
app.get("/docs/init.js", fromStaticAssets);
app.all("/openapi.json", methodNotAllowed("GET, HEAD"));
app.all("/docs", methodNotAllowed("GET, HEAD"));
app.route("/admin", admin);

app.notFound(notFound);
app.onError(handleError);

/**
 * `POST /check` is the product: every caller's every request passes through it, so it is served
 * here without the router (measured in workerd: Hono's dispatch cost a cached denial about a fifth
 * of its throughput) when its path is exactly "/check". Everything else, `/check`'s 405 and its rare
 * percent-encoded spellings included, goes through `app`, which decides what is `/check`.
 */
export default {
  fetch(request: Request, env: Env, ctx: ExecutionContext): Promise<Response> | Response {
    if (request.method === "POST" && pathOf(request.url) === "/check") {
      return serveCheck(request, env, ctx);
    }
    return app.fetch(request, env, ctx);
  },
} satisfies ExportedHandler<Env>;

export { RateLimiter } from "./gate/rpc.ts";
