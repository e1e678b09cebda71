// The dashboard pages' Content-Security-Policy (sent by proxy.ts with a fresh nonce per request).

/**
 * The policy for one page response. Scripts: only Next.js's own, each carrying the request's nonce ('strict-dynamic'
 * lets those load their chunks; no inline handler, no other origin). Styles allow inline `style` attributes (React
 * and the charts set them); `unsafe-inline` is ignored by browsers when a style nonce is present, so none is given.
 * connect-src 'self' covers the same-origin WebSocket (CSP3). frame-ancestors 'none': no site may frame the dashboard.
 * Development mode adds 'unsafe-eval' (React's dev tooling needs it; production never does).
 */
export function dashboardCsp(nonce: string, dev: boolean): string {
  return [
    "default-src 'self'",
    `script-src 'self' 'nonce-${nonce}' 'strict-dynamic'${dev ? " 'unsafe-eval'" : ""}`,
    "style-src 'self' 'unsafe-inline'",
    "img-src 'self' data: blob:",
    "font-src 'self' data:",
    "connect-src 'self'",
    "object-src 'none'",
    "base-uri 'none'",
    "form-action 'self'",
    "frame-ancestors 'none'",
  ].join("; ");
}
