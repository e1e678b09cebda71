// Applies the committed SQL migrations with Prisma's own `migrate deploy` (WebAssembly engines, offline).
import { createRequire } from "node:module";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { runTool, ToolError } from "../process/run.ts";

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
    await runTool(process.execPath, [cli, "migrate", "deploy"], {
      cwd: root,
      env: prismaOfflineEnv(databaseUrl),
      name: "prisma migrate deploy",
      // A large migration on a slow disk; a hung one must still end the start-up with an error.
      timeoutMs: 10 * 60 * 1000,
    });
  } catch (err) {
    const detail =
      err instanceof ToolError
        ? `${err.stderr}\n${err.stdout}`.trim() || err.message
        : err instanceof Error
          ? err.message
          : String(err);
    throw new Error(`database migration failed: ${detail}`.trim(), { cause: err });
  }
}
