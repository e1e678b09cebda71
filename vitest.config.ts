// Test tiers as vitest projects: unit (no root, no server), integration (real server + database), root (real runc...).
import { defineConfig } from "vitest/config";

const ignore = ["**/node_modules/**", "**/.next/**", "e2e/**"];

export default defineConfig({
  test: {
    projects: [
      {
        test: {
          name: "unit",
          include: [
            "server/**/*.test.ts",
            "runtime-agent/**/*.test.ts",
            "cli/**/*.test.ts",
            "app/**/*.test.ts",
            "components/**/*.test.ts",
            "lib/**/*.test.ts",
          ],
          exclude: [...ignore, "**/*.root.test.ts", "**/*.int.test.ts"],
          environment: "node",
          // A ceiling, not a speed check: scrypt-hashing tests took over the 5 s default at a load average of 25.
          testTimeout: 20_000,
        },
      },
      {
        test: {
          name: "integration",
          include: ["test/integration/**/*.test.ts", "**/*.int.test.ts"],
          exclude: [...ignore, "**/*.root.test.ts"],
          globalSetup: ["test/helpers/global-setup.ts"],
          testTimeout: 60_000,
          hookTimeout: 60_000,
          environment: "node",
        },
      },
      {
        test: {
          name: "root",
          include: ["**/*.root.test.ts"],
          exclude: ignore,
          globalSetup: ["test/helpers/global-setup.ts", "test/helpers/stack-cache.ts"],
          testTimeout: 180_000,
          hookTimeout: 180_000,
          fileParallelism: false,
          environment: "node",
        },
      },
    ],
  },
});
