#!/usr/bin/env node
// The `berth` CLI launcher. It runs the bundle dist/berth-cli.mjs (built by `npm ci` through scripts/bundle.mjs),
// which starts in a fraction of the time compiling the TypeScript sources takes. The sources stay the truth: when
// they changed since the bundle was built (a development checkout), the bundle is rebuilt first (esbuild, a few
// hundred milliseconds, once); only when that is impossible (no esbuild, dist/ not writable) does the launcher
// say so in one line and run the sources through tsx.
import path from "node:path";
import { pathToFileURL } from "node:url";
import { BUNDLE_FILES, ROOT, isFresh } from "../scripts/bundle-stamp.mjs";

const bundle = path.join(ROOT, BUNDLE_FILES.cli);

async function freshBundle() {
  if (isFresh(bundle)) return bundle;
  try {
    const { buildBundle } = await import("../scripts/bundle.mjs");
    return await buildBundle("cli");
  } catch (err) {
    const why = err instanceof Error ? err.message.split("\n")[0] : String(err);
    process.stderr.write(`berth: cannot rebuild ${BUNDLE_FILES.cli} (${why}); running the TypeScript sources (slower)\n`);
    return null;
  }
}

const entry = await freshBundle();
if (entry) {
  await import(pathToFileURL(entry).href);
} else {
  const { register } = await import("tsx/esm/api");
  register();
  await import("../cli/main.ts");
}
