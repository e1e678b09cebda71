// Type-aware lint: the rules that catch real bugs in async server code (floating promises, misused promises).
import tseslint from "typescript-eslint";

export default tseslint.config(
  {
    ignores: [
      "node_modules/**",
      ".next/**",
      "dist/**",
      "test-results/**",
      "playwright-report/**",
      "next-env.d.ts",
      "**/*.mjs",
      "**/*.js",
    ],
  },
  ...tseslint.configs.recommended,
  {
    files: ["**/*.ts", "**/*.tsx"],
    languageOptions: { parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname } },
    rules: {
      "@typescript-eslint/no-floating-promises": "error",
      "@typescript-eslint/no-misused-promises": ["error", { checksVoidReturn: { attributes: false } }],
      "@typescript-eslint/await-thenable": "error",
      "@typescript-eslint/no-unused-vars": ["error", { argsIgnorePattern: "^_", varsIgnorePattern: "^_" }],
    },
  },
  {
    files: ["server/**/*.ts", "runtime-agent/**/*.ts"],
    rules: { "no-console": "error" },
  },
  {
    // The CLI is a pure client of /api/v1 and is bundled into one file that must start fast (docs/cli.md).
    files: ["cli/**/*.ts"],
    ignores: ["cli/**/*.test.ts"],
    rules: {
      "no-restricted-imports": [
        "error",
        {
          paths: [{ name: "zod", message: "use zod/mini in the CLI: the full build costs ~0.1 s of start-up" }],
          patterns: [
            {
              group: ["**/server/**", "**/runtime-agent/**", "**/app/**", "**/lib/**", "**/components/**", "@/*"],
              message: "the CLI talks to the server through /api/v1 only: wire types and name rules come from shared/",
            },
          ],
        },
      ],
    },
  },
  {
    // The agent runs on hosts without the control plane: it shares only the wire protocol (runtime-agent/protocol).
    files: ["runtime-agent/**/*.ts"],
    rules: {
      "no-restricted-imports": [
        "error",
        {
          patterns: [
            {
              group: ["**/server/**", "**/app/**", "**/components/**", "**/lib/**", "**/cli/**", "@/*"],
              message: "runtime-agent imports nothing from the control plane, the dashboard or the CLI",
            },
          ],
        },
      ],
    },
  },
  {
    // The dashboard is a client of /api/v1 like the CLI: wire types and name rules come from shared/, nothing (not even
    // types) from server/, so no server code can reach the browser bundle (docs/architecture.md, "Wire types").
    files: ["components/**/*.ts", "components/**/*.tsx", "lib/**/*.ts", "lib/**/*.tsx", "app/**/*.ts", "app/**/*.tsx"],
    ignores: ["**/*.test.ts", "**/*.test.tsx"],
    rules: {
      "no-restricted-imports": [
        "error",
        {
          patterns: [
            {
              group: ["**/server/**", "@/server/*", "**/runtime-agent/**", "@/runtime-agent/*", "**/cli/**", "@/cli/*"],
              message: "the dashboard imports wire types and name rules from shared/, nothing from server/",
            },
          ],
        },
      ],
    },
  },
  {
    // shared/ is loaded by the server, the browser and the CLI: plain TypeScript with no imports but its own files
    // (no server code, no Node built-ins, no packages).
    files: ["shared/**/*.ts"],
    rules: {
      "no-restricted-imports": [
        "error",
        { patterns: [{ regex: "^(?!\\./[\\w-]+\\.ts$)", message: "shared/ imports only its own files (./x.ts)" }] },
      ],
    },
  },
  {
    files: ["test/**/*.ts", "**/*.test.ts", "e2e/**/*.ts"],
    rules: { "@typescript-eslint/no-explicit-any": "off" },
  },
);
