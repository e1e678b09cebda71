// A lock file across processes: every test server of a CI run (and a control plane) may want to build the same
// stack into the shared cache; only one builds, the others wait and then load its archive.
import fs from "node:fs/promises";

const LOCK_STALE_MS = 60 * 60 * 1000;

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === "EPERM";
  }
}

/** Runs `fn` holding an exclusive lock file (across processes); a lock of a dead process or older than an hour is broken. */
export async function withLockFile<T>(file: string, fn: () => Promise<T>, onWait: () => void): Promise<T> {
  let waited = false;
  for (;;) {
    try {
      const fh = await fs.open(file, "wx");
      await fh.writeFile(String(process.pid));
      await fh.close();
      break;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== "EEXIST") throw err;
      const [pidText, stat] = await Promise.all([
        fs.readFile(file, "utf8").catch(() => ""),
        fs.stat(file).catch(() => null),
      ]);
      const pid = Number(pidText);
      const stale = !stat || Date.now() - stat.mtimeMs > LOCK_STALE_MS || (pid > 0 && !alive(pid));
      if (stale && stat) {
        await fs.rm(file, { force: true });
        continue;
      }
      if (!waited) onWait();
      waited = true;
      await new Promise((r) => setTimeout(r, 1000));
    }
  }
  try {
    return await fn();
  } finally {
    await fs.rm(file, { force: true });
  }
}
