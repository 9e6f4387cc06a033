import type { RateLimiter } from "edge-rate-limiter";
import { type RateLimitVariables, rateLimit } from "edge-rate-limiter/middleware";
import { Hono, type MiddlewareHandler } from "hono";

/** What this Worker knows about whoever holds an API key: its own record, not the caller's word. */
export interface Customer {
  /** Stable across the customer's keys, so a new key does not bring a new bucket. */
  id: string;
  /** The plan the customer pays for: a tier of the limiter. */
  plan: string;
}

export interface Bindings {
  RATE_LIMITER: Service<RateLimiter>;
  /** API key -> `{"id": "...", "plan": "free"}`, written by whatever issues the keys. */
  CUSTOMERS: KVNamespace;
}

type AppEnv = { Bindings: Bindings; Variables: RateLimitVariables & { customer: Customer } };

const app = new Hono<AppEnv>();

/**
 * Answers 401, before any limiter call, unless the API key is one this Worker issued; otherwise
 * leaves the customer behind it for the limiter. Why first: the limiter charges whatever identifier
 * and tier it is given. Taken from headers, a caller would send a made-up key per request (a fresh,
 * full bucket each time) or `x-plan: enterprise` (100x the free limit). Taken from the key's own
 * record, both are facts the caller cannot change.
 */
const authenticate: MiddlewareHandler<AppEnv> = async function authenticate(c, next) {
  const key = c.req.header("x-api-key");
  const customer = key ? await c.env.CUSTOMERS.get<Customer>(key, "json") : null;
  if (customer === null) {
    return c.json({ detail: "Unauthorized" }, 401, { "WWW-Authenticate": 'ApiKey header="x-api-key"' });
  }
  c.set("customer", customer);
  await next();
};

// Everything under /api/ needs a known API key, and is rate limited per customer on their plan.
app.use("/api/*", authenticate);
app.use(
  "/api/*",
  rateLimit<AppEnv>({
    limiter: (c) => c.env.RATE_LIMITER,
    identifier: (c) => c.var.customer.id,
    tier: (c) => c.var.customer.plan,
  }),
);

app.get("/api/hello", (c) => c.json({ hello: "world", degraded: c.var.rateLimit.degraded }));

/**
 * What is left of the customer's plan, without spending any of it: a peek (cost 0) through the
 * binding itself, no middleware. Its result is a decision, or an error whose `kind` says why not.
 */
app.get("/quota", authenticate, async function quota(c) {
  const { id, plan } = c.var.customer;
  const result = await c.env.RATE_LIMITER.check({ identifier: id, tier: plan, cost: 0 });
  if (!result.ok) {
    if (result.error.kind === "unavailable") {
      return c.json({ detail: "Rate limiter unavailable" }, 503, { "Retry-After": "1" });
    }
    // "invalid", "unknown-tier" (a plan the limiter does not have) or "internal": ours to fix.
    console.error(JSON.stringify({ level: "ERROR", msg: "quota check failed", kind: result.error.kind }));
    return c.json({ detail: "Internal Server Error" }, 500);
  }
  const { limit, tokens_remaining, reset_at } = result.decision;
  return c.json({ plan, limit, remaining: tokens_remaining, full_at: reset_at });
});

app.get("/", (c) => c.text("Not rate limited.\n"));

export default app;
