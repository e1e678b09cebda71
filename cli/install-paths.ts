// Files of the installation, found relative to this module. It sits directly in cli/ so that the same relative
// paths hold once bundled: dist/berth-cli.cjs is one level below the repository root too, and esbuild keeps
// `import.meta.url` as the bundle's own URL.
import path from "node:path";
import { fileURLToPath } from "node:url";

/** The `berth` launcher (bin/berth.mjs), absolute, for commands that make other programs call the CLI. */
export const LAUNCHER = path.resolve(fileURLToPath(new URL("../bin/berth.mjs", import.meta.url)));

/** The project's package.json (the CLI's version). */
export const PACKAGE_JSON = new URL("../package.json", import.meta.url);
