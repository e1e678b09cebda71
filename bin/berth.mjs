#!/usr/bin/env node
// The `berth` CLI launcher. It runs the bundle dist/berth-cli.cjs (built by `npm ci` through scripts/bundle.mjs),
// which starts in a fraction of the time compiling the TypeScript sources takes. The sources stay the truth: when
// they changed since the bundle was built (a development checkout), the bundle is rebuilt first (esbuild, a few
// hundred milliseconds, once); only when that is impossible (no esbuild, dist/ not writable) does the launcher
// say so in one line and run the sources through tsx.
import fs from "node:fs";
import { createRequire } from "node:module";
import path from "node:path";
import vm from "node:vm";
import { BUNDLE_FILES, ROOT, isFresh } from "../scripts/bundle-stamp.mjs";

const bundle = path.join(ROOT, BUNDLE_FILES.cli);

async function freshBundle() {
  if (isFresh(bundle)) return bundle;
  try {
    const { buildBundle } = await import("../scripts/bundle.mjs");
    return await buildBundle("cli");
  } catch (err) {
    const why = err instanceof Error ? err.message.split("\n")[0] : String(err);
    process.stderr.write(
      `berth: cannot rebuild ${BUNDLE_FILES.cli} (${why}); running the TypeScript sources (slower)\n`,
    );
    return null;
  }
}

/**
 * Runs the CommonJS bundle the way require() would, but compiled with V8's code cache of an earlier call
 * (FILE.v8cache, written when missing or rejected: V8 rejects it after a rebuild or a Node upgrade). Compiling the
 * bundle is a good part of what it costs to start; the cache is an optimisation only, so any trouble with it is
 * ignored.
 */
function runBundle(file) {
  // The `#!` line is only valid at the very start of a script, not inside the module wrapper: keep it a comment.
  const code = fs.readFileSync(file, "utf8").replace(/^#!/, "//");
  const cacheFile = `${file}.v8cache`;
  let cachedData;
  try {
    cachedData = fs.readFileSync(cacheFile);
  } catch {
    cachedData = undefined;
  }
  const script = new vm.Script(`(function (exports, require, module, __filename, __dirname) {${code}\n})`, {
    filename: file,
    cachedData,
  });
  if (cachedData === undefined || script.cachedDataRejected) {
    // At exit, so the cache also holds the functions this call compiled.
    process.once("exit", () => {
      try {
        const tmp = `${cacheFile}.${process.pid}.tmp`;
        fs.writeFileSync(tmp, script.createCachedData());
        fs.renameSync(tmp, cacheFile);
      } catch {
        // read-only dist/: run without a cache
      }
    });
  }
  const module = { exports: {} };
  script.runInThisContext()(module.exports, createRequire(file), module, file, path.dirname(file));
}

const entry = await freshBundle();
if (entry) {
  runBundle(entry);
} else {
  const { register } = await import("tsx/esm/api");
  register();
  await import("../cli/main.ts");
}
