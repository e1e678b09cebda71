// Build steps shared by `npm start` and `npm test`: Prisma client generation, the Next.js build and the CLI and agent
// bundles, each skipped when its inputs have not changed since the last run (content hash stamped with the output).
import { execFileSync } from "node:child_process";
import crypto from "node:crypto";
import fs from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";

export const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");

/** Environment that keeps the Prisma CLI offline (it otherwise tries to download engines it does not use). */
export const prismaEnv = {
  ...process.env,
  PRISMA_SCHEMA_ENGINE_BINARY: process.execPath,
  PRISMA_QUERY_ENGINE_LIBRARY: process.execPath,
  PRISMA_HIDE_UPDATE_MESSAGE: "1",
  CHECKPOINT_DISABLE: "1",
};

function hashTree(paths) {
  const h = crypto.createHash("sha256");
  const walk = (p) => {
    const full = path.join(root, p);
    if (!fs.existsSync(full)) return;
    const st = fs.statSync(full);
    if (st.isDirectory()) {
      for (const name of fs.readdirSync(full).sort()) {
        if (name === "node_modules" || name.startsWith(".next")) continue;
        walk(path.join(p, name));
      }
    } else {
      h.update(p);
      h.update(fs.readFileSync(full));
    }
  };
  paths.forEach(walk);
  return h.digest("hex");
}

function upToDate(stampFile, hash) {
  return fs.existsSync(stampFile) && fs.readFileSync(stampFile, "utf8") === hash;
}

/** Generates the Prisma client if the schema changed. */
export function generatePrismaClient() {
  const stamp = path.join(root, "node_modules", ".prisma", "client", ".berth-schema-hash");
  const hash = hashTree(["prisma/schema.prisma", "package-lock.json"]);
  if (upToDate(stamp, hash)) return;
  execFileSync(process.execPath, [path.join(root, "node_modules", "prisma", "build", "index.js"), "generate"], {
    cwd: root,
    env: prismaEnv,
    stdio: ["ignore", "ignore", "inherit"],
  });
  fs.writeFileSync(stamp, hash);
}

/** Builds the dashboard if any of its inputs changed. */
export function buildDashboard() {
  const stamp = path.join(root, ".next", ".berth-build-hash");
  const hash = hashTree([
    "app",
    "components",
    "lib",
    "public",
    "next.config.ts",
    "postcss.config.mjs",
    "package-lock.json",
    "shared",
  ]);
  if (upToDate(stamp, hash) && fs.existsSync(path.join(root, ".next", "BUILD_ID"))) return;
  process.stdout.write("berth: building the dashboard (first run takes about a minute)\n");
  execFileSync(process.execPath, [path.join(root, "node_modules", "next", "dist", "bin", "next"), "build"], {
    cwd: root,
    env: { ...process.env, NEXT_TELEMETRY_DISABLED: "1" },
    stdio: ["ignore", "ignore", "inherit"],
  });
  fs.writeFileSync(stamp, hash);
}

/** Rebuilds the CLI and agent bundles in dist/ if their sources changed (see scripts/bundle.mjs). */
export function buildBundles() {
  execFileSync(process.execPath, [path.join(root, "scripts", "bundle.mjs")], {
    cwd: root,
    stdio: ["ignore", "ignore", "inherit"],
  });
}
