// Mounts the agent makes itself (writable layers, rootfs overlays, persisted user namespaces): what is mounted where,
// read from /proc/self/mountinfo, and mount/umount through util-linux with argv arrays.
import fs from "node:fs/promises";
import { RuntimeError } from "./errors.ts";
import { run } from "./exec.ts";

/** Decodes a mountinfo path (space, tab, newline and backslash are escaped as \ooo). */
export function unescapeMountPath(p: string): string {
  return p.replace(/\\([0-7]{3})/g, (_m, oct: string) => String.fromCharCode(parseInt(oct, 8)));
}

/** Every mount point in this mount namespace, in mount order (parents before children). */
export async function mountPoints(): Promise<string[]> {
  const text = await fs.readFile("/proc/self/mountinfo", "utf8");
  return text
    .split("\n")
    .filter(Boolean)
    .map((l) => unescapeMountPath(l.split(" ")[4] ?? ""));
}

/** Mount points at or below `dir` (deepest last). */
export async function mountPointsUnder(dir: string): Promise<string[]> {
  const base = dir.replace(/\/+$/, "");
  return (await mountPoints()).filter((p) => p === base || p.startsWith(`${base}/`));
}

/** True if something is mounted at `p`. */
export async function isMountPoint(p: string): Promise<boolean> {
  return (await mountPoints()).includes(p.replace(/\/+$/, ""));
}

/** A path that is safe inside a mount option string (overlay splits on `,` and `:`, and treats `\` as escape). */
export function assertMountOptionPath(p: string): string {
  if (!p.startsWith("/") || /[,:\\\s]/.test(p)) {
    throw new RuntimeError("invalid", `path cannot be used in mount options: ${JSON.stringify(p)}`);
  }
  return p;
}

/** util-linux mount/umount bound to their paths. */
export class Mounter {
  constructor(
    private readonly mountPath: string,
    private readonly umountPath: string,
  ) {}

  /** `mount -t TYPE -o OPTIONS -- SOURCE TARGET`. */
  async mount(type: string, source: string, target: string, options: string[]): Promise<void> {
    if (!/^[a-z0-9]+$/.test(type)) throw new RuntimeError("invalid", `invalid filesystem type ${type}`);
    await run(
      this.mountPath,
      ["-t", type, ...(options.length ? ["-o", options.join(",")] : []), "--", source, target],
      {
        timeoutMs: 30_000,
      },
    );
  }

  /** Bind-mounts `source` (a file or directory) on `target`. */
  async bind(source: string, target: string): Promise<void> {
    await run(this.mountPath, ["--bind", "--", source, target], { timeoutMs: 15_000 });
  }

  /** Unmounts `target` if something is mounted there; "not mounted" is fine. */
  async unmount(target: string): Promise<void> {
    if (!(await isMountPoint(target))) return;
    await run(this.umountPath, ["--", target], { timeoutMs: 30_000 });
  }
}
