import { mkdirSync } from "node:fs";
import { type Browser, chromium, type Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createTestHarness, type TestHarness } from "wrangler";
import { type RedisRestEndpoint, startLocalRedisRest } from "../../scripts/local-redis.ts";

/** How long the page may take to show what a test waits for. */
const RENDER_MS = 15_000;

/** Debian's package; `.ci/run` installs it when it is missing. */
const CHROMIUM = process.env.CHROMIUM_PATH ?? "/usr/bin/chromium";
const SCREENSHOT = "output/docs.png";

let redis: RedisRestEndpoint | undefined;
let server: TestHarness | undefined;
let browser: Browser | undefined;
let page: Page;
let origin: string;
/** Every URL the page asked for, and everything it reported as an error. */
const requested: string[] = [];
const errors: string[] = [];

beforeAll(async () => {
  // Miniflare would fetch a `Request.cf` sample from Cloudflare; this test talks to no other host.
  process.env.CLOUDFLARE_CF_FETCH_ENABLED = "false";
  redis = await startLocalRedisRest();
  // The Worker as `wrangler dev` runs it: wrangler.toml, its bundle and its static assets.
  server = createTestHarness({
    workers: [
      {
        configPath: "./wrangler.toml",
        secrets: { UPSTASH_REDIS_REST_URL: redis.url, UPSTASH_REDIS_REST_TOKEN: redis.token },
      },
    ],
  });
  origin = (await server.listen()).url.origin;
  browser = await chromium.launch({
    executablePath: CHROMIUM,
    timeout: 30_000,
    args: [
      "--headless",
      "--no-sandbox",
      "--disable-gpu",
      "--disable-quic",
      "--no-first-run",
      "--disable-background-networking",
      "--disable-component-update",
      "--disable-sync",
    ],
  });
  page = await browser.newPage({ viewport: { width: 1280, height: 1400 } });
  page.setDefaultTimeout(15_000);
  page.on("request", (request) => requested.push(request.url()));
  page.on("console", (message) => {
    if (message.type() === "error") errors.push(message.text());
  });
  page.on("pageerror", (error) => errors.push(error.message));
});

afterAll(async () => {
  // Each step on its own, so one that fails still lets the others stop what they started.
  await browser?.close().catch(() => {});
  await server?.close().catch(() => {});
  await redis?.stop();
});

describe("/docs in Chromium", () => {
  it("shows both operations", async () => {
    await page.goto(`${origin}/docs`);
    const check = page.locator(".opblock-post", { hasText: "/check" });
    const health = page.locator(".opblock-get", { hasText: "/health" });
    // Swagger UI renders after its bundle loads and parses: seconds on a busy machine, not vitest's default 1 s.
    await expect.poll(() => check.count(), { timeout: RENDER_MS }).toBe(1);
    await expect.poll(() => health.count(), { timeout: RENDER_MS }).toBe(1);
  });

  it('runs "Try it out" on POST /check and gets a 200', async () => {
    const check = page.locator(".opblock-post", { hasText: "/check" });
    await check.locator(".opblock-summary-control").click();
    await check.getByRole("button", { name: "Try it out" }).click();
    const request = { identifier: `docs-${crypto.randomUUID()}`, tier: "free", cost: 1 };
    await check.locator("textarea.body-param__text").fill(JSON.stringify(request));
    await check.getByRole("button", { name: "Execute" }).click();
    const response = check.locator(".live-responses-table .response");
    await expect
      .poll(() => response.locator(".response-col_status").first().textContent(), { timeout: RENDER_MS })
      .toBe("200");
    const body = (await response.locator(".response-col_description pre").first().textContent()) ?? "";
    expect(JSON.parse(body)).toMatchObject({ allowed: true, tokens_remaining: 99, limit: 100 });
    await response.scrollIntoViewIfNeeded();
    mkdirSync("output", { recursive: true });
    await page.screenshot({ path: SCREENSHOT, fullPage: true });
  });

  it("asked no other host for anything, and reported no error", () => {
    expect(requested).toContain(`${origin}/docs/swagger-ui/swagger-ui-bundle.js`);
    expect(requested).toContain(`${origin}/openapi.json`);
    expect(requested).toContain(`${origin}/check`);
    const elsewhere = requested.filter((url) => !url.startsWith("data:") && new URL(url).origin !== origin);
    expect(elsewhere).toEqual([]);
    expect(errors).toEqual([]);
  });
});
