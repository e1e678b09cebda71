// Next.js proxy (runs before every dashboard page renders): a fresh script nonce and the Content-Security-Policy that
// carries it. Next.js reads the nonce back from the request's CSP header and puts it on its own scripts, which is why
// the root layout renders dynamically (a prerendered page would have no nonce). The other hardening headers are set by
// the control plane for every response (server/http/security-headers.ts).
import { NextResponse, type NextRequest } from "next/server";
import { dashboardCsp } from "@/lib/csp";

/** Adds the nonce-based CSP to the request (for rendering) and to the response (for the browser). */
export function proxy(request: NextRequest) {
  const nonce = btoa(crypto.randomUUID());
  const csp = dashboardCsp(nonce, process.env.NODE_ENV === "development");
  const headers = new Headers(request.headers);
  headers.set("content-security-policy", csp);
  const response = NextResponse.next({ request: { headers } });
  response.headers.set("content-security-policy", csp);
  return response;
}

export const config = {
  // Pages only: built assets and icons are not documents, and prefetches reuse the page's policy.
  matcher: [
    {
      source: "/((?!_next/static|_next/image|favicon.ico|icon.svg).*)",
      missing: [
        { type: "header", key: "next-router-prefetch" },
        { type: "header", key: "purpose", value: "prefetch" },
      ],
    },
  ],
};
