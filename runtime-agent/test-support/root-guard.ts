// The root tier's guard: real runc/conmon/CNI/buildah tests run only as root. Elsewhere they are skipped with one
// clear line, except under CI, where not being root is a failure (CI must run them).
import { describe } from "vitest";

/** True when the tests run as root. */
export const isRoot = process.getuid?.() === 0;

if (!isRoot && process.env.CI) {
  throw new Error("root tier: CI is set but the tests are not running as root; run them as root");
}
if (!isRoot) {
  // The single console line the root tier is allowed: it tells a developer why nothing ran.
  // eslint-disable-next-line no-console
  console.log("root tier skipped: needs root (runc, cgroups, namespaces)");
}

/** `describe` as root, `describe.skip` otherwise. */
export const describeRoot = isRoot ? describe : describe.skip;
