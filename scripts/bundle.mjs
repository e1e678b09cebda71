#!/usr/bin/env node
// Builds the single-file bundles with esbuild: the CLI (dist/berth-cli.cjs, which bin/berth.mjs runs, so a call does
// not compile TypeScript) and the node agent (dist/berth-agent.mjs, which runs with plain `node` on a host that has
// only Node.js 20 and the OCI tools: no checkout, no npm install, no tsx). The TypeScript sources stay the truth:
// each bundle carries a stamp of the sources it was built from (scripts/bundle-stamp.mjs) and is rebuilt when they
// change. `npm ci` runs this through the `prepare` script.
//
// Usage: node scripts/bundle.mjs [cli] [agent]         build the named bundles (default both) when stale
//        node scripts/bundle.mjs --force [cli] [agent] build them even when fresh
//        node scripts/bundle.mjs --check [cli] [agent] exit 1 and name the stale ones, build nothing
//        node scripts/bundle.mjs cli|agent --outfile=PATH  build one bundle to PATH (always)
import fs from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { BUNDLE_FILES, COMMON_INPUTS, ROOT, STAMP_PREFIX, hashInputs, isFresh } from "./bundle-stamp.mjs";

/**
 * Per bundle: its entry and how it is built. The agent is an ES module that runs alone on a host. The CLI is
 * CommonJS because there `require()` of a module used by one command only stays inside that command's code, while
 * an ES module bundle loads every Node built-in any command imports (readline, child_process, net, ...) at start;
 * that and its code cache (bin/berth.mjs) halve what the bundle adds to `node -e 0`.
 */
const BUNDLES = {
  cli: {
    entry: "cli/main.ts",
    format: "cjs",
    // import.meta does not exist in CommonJS: give cli/install-paths.ts the bundle's own URL instead.
    define: { "import.meta.url": "__berthBundleUrl" },
    banner: "const __berthBundleUrl = require('node:url').pathToFileURL(__filename).href;",
    // import() of Node built-ins becomes require() too: lazy either way, and no ES module loader needed at run time.
    supported: { "dynamic-import": false },
  },
  agent: {
    entry: "runtime-agent/main.ts",
    format: "esm",
    define: {},
    // Bundled CommonJS dependencies (ws, pino) call require(); give the ES module one.
    banner:
      "import { createRequire as __berthRequire } from 'node:module';\nconst require = __berthRequire(import.meta.url);",
    supported: {},
  },
};

/**
 * Builds bundle `name` ("cli" or "agent") into `outfile` (default: its place in dist/) and returns the path. The file
 * is replaced atomically, so a concurrent `berth` call never runs half a bundle.
 */
export async function buildBundle(name, outfile = path.join(ROOT, BUNDLE_FILES[name])) {
  const spec = BUNDLES[name];
  if (!spec) throw new Error(`unknown bundle ${JSON.stringify(name)}: use cli or agent`);
  const { build } = await import("esbuild");
  const result = await build({
    absWorkingDir: ROOT,
    entryPoints: [path.join(ROOT, spec.entry)],
    outfile,
    write: false,
    metafile: true,
    bundle: true,
    platform: "node",
    format: spec.format,
    target: "node20",
    define: spec.define,
    supported: spec.supported,
    minify: false,
    sourcemap: false,
    legalComments: "none",
    banner: { js: spec.banner },
    logLevel: "warning",
  });
  const sources = Object.keys(result.metafile.inputs).filter(
    (p) => !p.split("/").includes("node_modules") && !p.includes(":"),
  );
  const inputs = [...new Set([...sources, ...COMMON_INPUTS])].sort();
  const stamp = `${STAMP_PREFIX}${JSON.stringify({ hash: hashInputs(ROOT, inputs), inputs })}`;
  // esbuild keeps an entry's own `#!` line; the bundle gets exactly one, first.
  const code = (result.outputFiles[0]?.text ?? "").replace(/^#![^\n]*\n/, "");
  fs.mkdirSync(path.dirname(outfile), { recursive: true });
  const tmp = `${outfile}.${process.pid}.tmp`;
  fs.writeFileSync(tmp, `#!/usr/bin/env node\n${stamp}\n${code}`, { mode: 0o755 });
  fs.renameSync(tmp, outfile);
  return outfile;
}

/** True if bundle `name` in dist/ matches its sources. */
export function bundleIsFresh(name) {
  return isFresh(path.join(ROOT, BUNDLE_FILES[name]));
}

/** Builds the named bundles that are stale (or all of them with `force`); returns the ones built. */
export async function buildStale(names = Object.keys(BUNDLES), { force = false } = {}) {
  const built = [];
  for (const name of names) {
    if (!force && bundleIsFresh(name)) continue;
    await buildBundle(name);
    built.push(name);
  }
  return built;
}

async function main(argv) {
  const flags = new Set(argv.filter((a) => a.startsWith("--") && !a.startsWith("--outfile=")));
  const out = argv.find((a) => a.startsWith("--outfile="));
  const names = argv.filter((a) => !a.startsWith("--"));
  for (const n of names) if (!BUNDLES[n]) throw new Error(`unknown bundle ${JSON.stringify(n)}: use cli or agent`);
  const chosen = names.length ? names : Object.keys(BUNDLES);
  if (out) {
    if (chosen.length !== 1) throw new Error("--outfile needs exactly one bundle name");
    const file = await buildBundle(chosen[0], path.resolve(out.slice("--outfile=".length)));
    process.stdout.write(`${path.relative(process.cwd(), file) || file}\n`);
    return 0;
  }
  if (flags.has("--check")) {
    const stale = chosen.filter((n) => !bundleIsFresh(n));
    for (const n of stale) process.stdout.write(`${BUNDLE_FILES[n]} is stale: run \`node scripts/bundle.mjs ${n}\`\n`);
    return stale.length ? 1 : 0;
  }
  try {
    const built = await buildStale(chosen, { force: flags.has("--force") });
    for (const n of built) process.stdout.write(`berth: bundled ${BUNDLE_FILES[n]}\n`);
  } catch (err) {
    // `npm ci --omit=dev` has no esbuild: the launcher then runs the TypeScript sources; install must not fail.
    if (err?.code === "ERR_MODULE_NOT_FOUND" && /esbuild/.test(String(err.message))) {
      process.stdout.write(
        "berth: esbuild is not installed, so no bundles were built; `berth` runs from its TypeScript sources (slower)\n",
      );
      return 0;
    }
    throw err;
  }
  return 0;
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  process.exitCode = await main(process.argv.slice(2));
}
