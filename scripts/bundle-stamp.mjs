// The freshness stamp of the single-file bundles in dist/. The second line of every bundle names the files it was
// built from (its own sources as esbuild saw them, plus the lock file and the build script) and a hash of their
// contents; the bundle is fresh while that hash still matches. Node's built-ins only: the `berth` launcher runs this
// check on every call, so it has to cost about a millisecond, not a module graph.
import crypto from "node:crypto";
import fs from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";

/** The repository root (bundles live in ROOT/dist). */
export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");

/** Marks the stamp line: `// berth-bundle {"hash": "...", "inputs": [...]}`. */
export const STAMP_PREFIX = "// berth-bundle ";

/** Inputs of every bundle besides its sources: dependency versions and the build options. */
export const COMMON_INPUTS = ["package-lock.json", "scripts/bundle.mjs"];

/** Where each bundle is written, relative to the root. */
export const BUNDLE_FILES = { cli: "dist/berth-cli.cjs", agent: "dist/berth-agent.mjs" };

/** sha256 over the paths and contents of `inputs` (relative to `root`); throws if one is missing. */
export function hashInputs(root, inputs) {
  const h = crypto.createHash("sha256");
  for (const p of inputs) {
    h.update(`${p}\0`);
    h.update(fs.readFileSync(path.join(root, p)));
    h.update("\0");
  }
  return h.digest("hex");
}

/** The stamp of a bundle file ({hash, inputs}), or null when the file is missing or has none. */
export function readStamp(file) {
  let fd;
  try {
    fd = fs.openSync(file, "r");
  } catch {
    return null;
  }
  try {
    // The stamp is on the first lines; a list of a few hundred paths fits in 64 KiB.
    const buf = Buffer.alloc(64 * 1024);
    const n = fs.readSync(fd, buf, 0, buf.length, 0);
    const line = buf
      .subarray(0, n)
      .toString("utf8")
      .split("\n", 3)
      .find((l) => l.startsWith(STAMP_PREFIX));
    if (!line) return null;
    const stamp = JSON.parse(line.slice(STAMP_PREFIX.length));
    const ok =
      typeof stamp?.hash === "string" &&
      Array.isArray(stamp.inputs) &&
      stamp.inputs.every((p) => typeof p === "string");
    return ok ? stamp : null;
  } catch {
    return null;
  } finally {
    fs.closeSync(fd);
  }
}

/** True when `file` has a stamp and every input it lists still has the content it was built from. */
export function isFresh(file, root = ROOT) {
  const stamp = readStamp(file);
  if (!stamp) return false;
  try {
    return hashInputs(root, stamp.inputs) === stamp.hash;
  } catch {
    // An input was deleted or cannot be read: the sources changed shape.
    return false;
  }
}
