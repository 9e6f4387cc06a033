import type { RateLimiter } from "edge-rate-limiter";
import { type RateLimitVariables, rateLimit } from "edge-rate-limiter/middleware";
import { Hono } from "hono";

export interface Bindings {
  RATE_LIMITER: Service<RateLimiter>;
}

type AppEnv = { Bindings: Bindings; Variables: RateLimitVariables };

const app = new Hono<AppEnv>();

// Everything under /api/ is rate limited: per API key (or per client IP without one), on the
// plan the caller names, the limiter's default tier otherwise.
app.use(
  "/api/*",
  rateLimit<AppEnv>({
    limiter: (c) => c.env.RATE_LIMITER,
    identifier: (c) => c.req.header("x-api-key") ?? c.req.header("cf-connecting-ip") ?? "anonymous",
    tier: (c) => c.req.header("x-plan"),
  }),
);

app.get("/api/hello", (c) => c.json({ hello: "world", degraded: c.var.rateLimit.degraded }));
app.get("/", (c) => c.text("Not rate limited.\n"));

export default app;
