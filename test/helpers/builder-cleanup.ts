// Removes what builds leave under a test data dir: buildah images/containers and any mounts below it.
import { execFile } from "node:child_process";
import fs from "node:fs";
import path from "node:path";
import { promisify } from "node:util";

const run = promisify(execFile);

/** Deletes buildah state of `dataDir/builder` and unmounts anything still mounted under `dataDir`. */
export async function cleanupBuilder(dataDir: string): Promise<void> {
  const root = path.join(dataDir, "builder", "storage");
  const runRoot = path.join(dataDir, "builder", "run");
  if (fs.existsSync(root)) {
    const g = ["--root", root, "--runroot", runRoot, "--storage-driver", "overlay"];
    await run("buildah", [...g, "rm", "--all"]).catch(() => undefined);
    await run("buildah", [...g, "rmi", "--all", "--force"]).catch(() => undefined);
  }
  const mounts = fs
    .readFileSync("/proc/self/mountinfo", "utf8")
    .split("\n")
    .map((l) => l.split(" ")[4] ?? "")
    .filter((m) => m === dataDir || m.startsWith(`${dataDir}/`))
    .sort((a, b) => b.length - a.length);
  for (const m of mounts) await run("umount", ["-l", m]).catch(() => undefined);
}
