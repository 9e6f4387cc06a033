/*
 * The interactive docs, as static files: scripts/copy-docs-assets.ts writes the page, its initializer
 * and their Content-Security-Policy (a `_headers` file) into static/, beside Swagger UI's own files,
 * and Workers static assets serve them, the Worker's script carrying none of it.
 */

/**
 * Where Swagger UI's own files are served from: Workers static assets, copied from the `swagger-ui-dist`
 * package by scripts/copy-docs-assets.ts. Same origin, so the page works offline.
 */
export const DOCS_ASSETS_PATH = "/docs/swagger-ui";

/** `GET /docs`, from static/docs.html: Swagger UI on this Worker's OpenAPI document. */
export const DOCS_PAGE = `<!doctype html>
<html lang="en">
  <head>
    <meta charset="utf-8">
    <meta name="viewport" content="width=device-width, initial-scale=1">
    <title>Rate limiter API</title>
    <link rel="stylesheet" href="${DOCS_ASSETS_PATH}/swagger-ui.css">
    <link rel="stylesheet" href="${DOCS_ASSETS_PATH}/index.css">
    <link rel="icon" type="image/png" href="${DOCS_ASSETS_PATH}/favicon-32x32.png" sizes="32x32">
  </head>
  <body>
    <div id="swagger-ui"></div>
    <script src="${DOCS_ASSETS_PATH}/swagger-ui-bundle.js"></script>
    <script src="/docs/init.js"></script>
  </body>
</html>
`;

/**
 * `GET /docs/init.js`: starts Swagger UI; a file, not an inline script, so the policy needs no nonce.
 * No validator badge: Swagger UI would fetch it from validator.swagger.io.
 */
export const DOCS_INITIALIZER = `window.ui = SwaggerUIBundle({
  url: "/openapi.json",
  dom_id: "#swagger-ui",
  deepLinking: true,
  validatorUrl: null,
});
`;

/**
 * Same origin only, so a browser refuses any other host even if a future Swagger UI wanted one.
 * Inline styles are Swagger UI's (React `style` props); its icons are `data:` SVGs.
 */
const CONTENT_SECURITY_POLICY = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self' 'unsafe-inline'",
  "img-src 'self' data:",
  "connect-src 'self'",
  "base-uri 'none'",
  "form-action 'none'",
  "frame-ancestors 'none'",
].join("; ");

/** The `_headers` file of static assets: the policy on the page. */
export const DOCS_HEADERS = `/docs
  Content-Security-Policy: ${CONTENT_SECURITY_POLICY}
`;
