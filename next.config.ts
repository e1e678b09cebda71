import type { NextConfig } from "next";

// The dashboard is pages only: the API, git and streams are served by the custom server (server/).
const nextConfig: NextConfig = {
  poweredByHeader: false,
  reactStrictMode: true,
  typedRoutes: false,
  devIndicators: false,
};

export default nextConfig;
