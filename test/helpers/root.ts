// Root-tier guard: these tests need root (runc, buildah, cgroups, namespaces). Skipped with one clear line
// when not root; under CI (CI set) not being root is a failure instead, so CI can never silently skip them.
import { describe } from "vitest";

export const isRoot = process.getuid?.() === 0;

/** `describe` for root-only suites. */
export function describeRoot(name: string, fn: () => void): void {
  if (isRoot) {
    describe(name, fn);
    return;
  }
  if (process.env.CI) {
    describe(name, () => {
      throw new Error("root tier must run as root under CI");
    });
    return;
  }
  process.stderr.write(`root tier skipped: "${name}" needs root (runc, buildah, cgroups, namespaces)\n`);
  describe.skip(name, fn);
}
