// Builds the node agent into one file (dist/berth-agent.mjs) that runs with plain `node` on a host that has only
// Node.js 20 and the OCI tools: no checkout, no npm install, no tsx. The agent imports nothing from server/ or app/.
// Usage: npm run build:agent [-- --outfile=/path/berth-agent.mjs]
import path from "node:path";
import { fileURLToPath } from "node:url";
import { build } from "esbuild";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const arg = process.argv.find((a) => a.startsWith("--outfile="));
const outfile = arg ? path.resolve(arg.slice("--outfile=".length)) : path.join(root, "dist", "berth-agent.mjs");

await build({
  entryPoints: [path.join(root, "runtime-agent", "main.ts")],
  outfile,
  bundle: true,
  platform: "node",
  format: "esm",
  target: "node20",
  minify: false,
  sourcemap: false,
  legalComments: "none",
  // Bundled CommonJS dependencies (ws, pino) call require(); give the ES module one.
  banner: {
    js: "#!/usr/bin/env node\nimport { createRequire as __berthRequire } from 'node:module';\nconst require = __berthRequire(import.meta.url);",
  },
  logLevel: "warning",
});
process.stdout.write(`${path.relative(process.cwd(), outfile) || outfile}\n`);
