import type { NextConfig } from "next";

// The dashboard is pages only: the API, git and streams are served by the custom server (server/).
const nextConfig: NextConfig = {
  poweredByHeader: false,
  reactStrictMode: true,
  typedRoutes: false,
  devIndicators: false,
  // `npm test` type-checks the whole repository once (tsc); the build should not fail on, or repeat, that work.
  typescript: { ignoreBuildErrors: true },
};

export default nextConfig;
