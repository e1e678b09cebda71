// Removes what builds leave under a test data dir: buildah images/containers of every builder store (the stack
// store, each app's store, the tests' own check store) and any mounts below it.
import { execFile } from "node:child_process";
import fs from "node:fs";
import { promisify } from "node:util";
import { builderStoresOf, checkStoreOf, storeArgs } from "./builder-stores.ts";

const run = promisify(execFile);

/** Deletes buildah state of `dataDir`'s builder stores and unmounts anything still mounted under `dataDir`. */
export async function cleanupBuilder(dataDir: string): Promise<void> {
  const stores = [...builderStoresOf(dataDir), checkStoreOf(dataDir)].filter((s) => fs.existsSync(s.root));
  // App stores first: they may see the stack store (read-only), which must still be there.
  for (const s of stores.reverse()) {
    await run("buildah", [...storeArgs(s), "rm", "--all"]).catch(() => undefined);
    await run("buildah", [...storeArgs(s), "rmi", "--all", "--force"]).catch(() => undefined);
  }
  const mounts = fs
    .readFileSync("/proc/self/mountinfo", "utf8")
    .split("\n")
    .map((l) => l.split(" ")[4] ?? "")
    .filter((m) => m === dataDir || m.startsWith(`${dataDir}/`))
    .sort((a, b) => b.length - a.length);
  for (const m of mounts) await run("umount", ["-l", m]).catch(() => undefined);
}
