// Builds the node agent into one file (dist/berth-agent.mjs) that runs with plain `node` on a host that has only
// Node.js 20 and the OCI tools: no checkout, no npm install, no tsx. The agent imports nothing from server/ or app/.
// The build itself is scripts/bundle.mjs (shared with the CLI bundle); this keeps `npm run build:agent` working.
// Usage: npm run build:agent [-- --outfile=/path/berth-agent.mjs]
import path from "node:path";
import { buildBundle } from "./bundle.mjs";

const arg = process.argv.find((a) => a.startsWith("--outfile="));
const file = await buildBundle("agent", arg ? path.resolve(arg.slice("--outfile=".length)) : undefined);
process.stdout.write(`${path.relative(process.cwd(), file) || file}\n`);
