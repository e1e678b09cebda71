#!/usr/bin/env node
// `npm start`: install missing host packages (as root), generate, build, then run the control plane.
// The server applies database migrations itself at start.
import { spawn } from "node:child_process";
import path from "node:path";
import { PLATFORM_PACKAGES, ensurePackages } from "./host-packages.mjs";
import { buildBundles, buildDashboard, generatePrismaClient, root } from "./prepare.mjs";

const missing = ensurePackages(PLATFORM_PACKAGES);
if (missing.length > 0) {
  process.stdout.write(
    "berth: the control plane starts, but running containers needs root for host packages, namespaces and cgroups: run `sudo npm start`.\n",
  );
}
generatePrismaClient();
buildBundles();
buildDashboard();

const port = process.env.PORT ?? "3000";
const child = spawn(process.execPath, ["--import", "tsx", path.join(root, "server", "main.ts")], {
  cwd: root,
  stdio: "inherit",
  env: { ...process.env, NODE_ENV: process.env.NODE_ENV ?? "production", NEXT_TELEMETRY_DISABLED: "1" },
});
process.stdout.write(
  `berth: dashboard at http://localhost:${port}/ — ` +
    (process.env.BERTH_ADMIN_EMAIL
      ? `sign in as ${process.env.BERTH_ADMIN_EMAIL}\n`
      : "the first account you sign up becomes the instance admin\n"),
);
for (const sig of ["SIGINT", "SIGTERM"]) process.on(sig, () => child.kill(sig));
child.on("exit", (code, signal) => process.exit(code ?? (signal ? 1 : 0)));
