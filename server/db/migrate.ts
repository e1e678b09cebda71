// Applies the committed SQL migrations with Prisma's own `migrate deploy` (WebAssembly engines, offline).
import { execFile } from "node:child_process";
import { createRequire } from "node:module";
import path from "node:path";
import { promisify } from "node:util";
import { fileURLToPath } from "node:url";

const execFileAsync = promisify(execFile);
const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..", "..");

/** Environment that stops the Prisma CLI from trying to download native engines it does not need. */
export function prismaOfflineEnv(databaseUrl: string): NodeJS.ProcessEnv {
  return {
    ...process.env,
    BERTH_DATABASE_URL: databaseUrl,
    PRISMA_SCHEMA_ENGINE_BINARY: process.execPath,
    PRISMA_QUERY_ENGINE_LIBRARY: process.execPath,
    PRISMA_HIDE_UPDATE_MESSAGE: "1",
    CHECKPOINT_DISABLE: "1",
  };
}

/** Runs `prisma migrate deploy` against `databaseUrl`; rejects with the CLI output on failure. */
export async function migrateDatabase(databaseUrl: string): Promise<void> {
  const require = createRequire(import.meta.url);
  const cli = path.join(path.dirname(require.resolve("prisma/package.json")), "build", "index.js");
  try {
    await execFileAsync(process.execPath, [cli, "migrate", "deploy"], {
      cwd: root,
      env: prismaOfflineEnv(databaseUrl),
      maxBuffer: 10 * 1024 * 1024,
    });
  } catch (err) {
    const e = err as { stdout?: string; stderr?: string };
    throw new Error(`database migration failed: ${e.stderr ?? ""}${e.stdout ?? ""}`.trim(), { cause: err });
  }
}
