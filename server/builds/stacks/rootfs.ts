// A stack's root filesystem: debootstrap (plus apt-get for Node.js) or the host's busybox-static, the unprivileged
// app user, and what the build reads back from it (the Node.js version). Kept apart from the image cache
// (stacks.ts) because this is the slow, host-tool-heavy part that only runs when no cached image fits.
import { existsSync } from "node:fs";
import fs from "node:fs/promises";
import path from "node:path";
import { runStreaming, runTool } from "../../process/run.ts";
import { APP_UID, APP_USER, debianMirrorFromSources, type StackRecipe } from "./recipe.ts";
import { BUSYBOX_PATH, StackError, STACK_TIMEOUT_MS, type StackOptions } from "./stack-common.ts";

/** True when an ELF file has no program interpreter (statically linked). */
export function isStaticElf(buf: Buffer): boolean {
  if (buf.length < 64 || buf.readUInt32BE(0) !== 0x7f454c46 || buf[4] !== 2 || buf[5] !== 1) return false; // ELF64 LE
  const phoff = Number(buf.readBigUInt64LE(32));
  const phentsize = buf.readUInt16LE(54);
  const phnum = buf.readUInt16LE(56);
  for (let i = 0; i < phnum; i++) {
    const off = phoff + i * phentsize;
    if (off + 4 > buf.length) return false;
    if (buf.readUInt32LE(off) === 3) return false; // PT_INTERP
  }
  return true;
}

/** The Debian mirror for debootstrap: BERTH_DEBIAN_MIRROR, else the one apt on this host uses. */
export async function debianMirror(): Promise<string> {
  if (process.env.BERTH_DEBIAN_MIRROR) return process.env.BERTH_DEBIAN_MIRROR;
  const files: [string, string][] = [];
  for (const f of ["/etc/apt/sources.list"])
    if (existsSync(f)) files.push([path.basename(f), await fs.readFile(f, "utf8")]);
  const dir = "/etc/apt/sources.list.d";
  if (existsSync(dir)) {
    for (const f of (await fs.readdir(dir)).sort())
      files.push([f, await fs.readFile(path.join(dir, f), "utf8").catch(() => "")]);
  }
  const mirror = debianMirrorFromSources(files);
  if (!mirror)
    throw new StackError(
      "no Debian mirror found in /etc/apt/sources.list(.d); set BERTH_DEBIAN_MIRROR to a Debian archive URI",
    );
  return mirror;
}

/** Unmounts everything mounted at or below `dir` (debootstrap mounts /proc and /sys in its target). */
export async function unmountBelow(dir: string): Promise<void> {
  const mounts = (await fs.readFile("/proc/self/mountinfo", "utf8"))
    .split("\n")
    .map((l) => (l.split(" ")[4] ?? "").replace(/\\040/g, " "))
    .filter((m) => m.startsWith(`${dir}/`))
    .sort((a, b) => b.length - a.length);
  for (const m of mounts) await runTool("umount", ["-l", "--", m]).catch(() => undefined);
}

/** Adds the unprivileged app user (uid 1000) to a root filesystem and creates /app owned by it. */
async function addAppUser(rootfs: string): Promise<void> {
  await fs.mkdir(path.join(rootfs, "etc"), { recursive: true });
  const add = async (file: string, line: string) => {
    const p = path.join(rootfs, "etc", file);
    const text = existsSync(p) ? await fs.readFile(p, "utf8") : "";
    if (!text.split("\n").some((l) => l.startsWith(`${APP_USER}:`)))
      await fs.writeFile(p, `${text}${text && !text.endsWith("\n") ? "\n" : ""}${line}\n`);
  };
  await add("passwd", `${APP_USER}:x:${APP_UID}:${APP_UID}:Berth app:/app:/bin/sh`);
  await add("group", `${APP_USER}:x:${APP_UID}:`);
  await fs.mkdir(path.join(rootfs, "app"), { recursive: true });
  await fs.chown(path.join(rootfs, "app"), APP_UID, APP_UID);
}

/** Debian's nodejs version in a debootstrapped root ("18.20.4"), from dpkg's status file. */
export function nodeVersionFromDpkgStatus(status: string): string | null {
  for (const stanza of status.split(/\n\n+/)) {
    if (!/^Package: nodejs$/m.test(stanza) || !/^Status: install ok installed$/m.test(stanza)) continue;
    const m = /^Version: (?:\d+:)?(\d+\.\d+\.\d+)/m.exec(stanza);
    if (m?.[1]) return m[1];
  }
  return null;
}

/** Per-package lines of debootstrap and apt/dpkg: counted, not shown (there are hundreds). */
const NOISE =
  /^(I: (Retrieving|Validating|Extracting|Unpacking|Configuring) |Selecting previously|Preparing to unpack|Unpacking |Setting up |\(Reading database|Processing triggers|debconf: delaying)/;

/**
 * Fills a mounted scratch container with the stack's root filesystem; returns the Node.js version if any.
 * `inside` runs a command in the container (for apt-get, with network: the recipe is Berth's, not an app's).
 */
export async function populate(
  recipe: StackRecipe,
  mnt: string,
  opts: StackOptions,
  log: (l: string) => void,
  inside: (argv: string[], onLine: (l: string) => void) => Promise<void>,
): Promise<string | null> {
  if (recipe.type === "busybox") {
    for (const d of ["bin", "etc", "tmp", "app"]) await fs.mkdir(path.join(mnt, d), { recursive: true });
    await fs.chmod(path.join(mnt, "tmp"), 0o1777);
    await fs.copyFile(BUSYBOX_PATH, path.join(mnt, "bin", "busybox"));
    await fs.chmod(path.join(mnt, "bin", "busybox"), 0o755);
    if (!isStaticElf(await fs.readFile(BUSYBOX_PATH)))
      throw new StackError(`${BUSYBOX_PATH} is not statically linked; install Debian's busybox-static package`);
    const stdout = await runTool(BUSYBOX_PATH, ["--list"]);
    for (const applet of stdout.split("\n").map((a) => a.trim())) {
      if (!/^[a-z0-9_.[-]+$/.test(applet) || applet === "busybox") continue;
      await fs.symlink("busybox", path.join(mnt, "bin", applet)).catch(() => undefined);
    }
    await fs.writeFile(path.join(mnt, "etc", "passwd"), "root:x:0:0:root:/root:/bin/sh\n");
    await fs.writeFile(path.join(mnt, "etc", "group"), "root:x:0:\n");
    await addAppUser(mnt);
    return null;
  }
  const mirror = opts.mirror ?? (await debianMirror());
  log(`debootstrap --variant=${recipe.variant} --include=${recipe.packages.join(",")} ${recipe.suite} (${mirror})`);
  let quiet = 0;
  const filtered = (l: string) => {
    if (NOISE.test(l)) quiet++;
    else log(l);
  };
  let started = Date.now();
  try {
    await runStreaming(
      "debootstrap",
      [`--variant=${recipe.variant}`, `--include=${recipe.packages.join(",")}`, recipe.suite, mnt, mirror],
      filtered,
      {
        timeoutMs: STACK_TIMEOUT_MS,
        env: { ...process.env, LANG: "C", DEBIAN_FRONTEND: "noninteractive" },
      },
    );
  } catch (err) {
    if (!existsSync("/usr/sbin/debootstrap") && !existsSync("/usr/bin/debootstrap"))
      throw new StackError("building the Node.js stack needs debootstrap (apt-get install debootstrap)");
    throw err;
  } finally {
    await unmountBelow(mnt);
  }
  log(`debootstrap done in ${Math.round((Date.now() - started) / 1000)} s (${quiet} package steps)`);
  if (recipe.aptPackages.length > 0) {
    started = Date.now();
    quiet = 0;
    log(`apt-get install ${recipe.aptPackages.join(" ")}`);
    await inside(["apt-get", "update", "-qq"], filtered);
    await inside(["apt-get", "install", "-y", "-qq", "--no-install-recommends", "--", ...recipe.aptPackages], filtered);
    await inside(["apt-get", "clean"], filtered);
    log(`apt-get done in ${Math.round((Date.now() - started) / 1000)} s (${quiet} package steps)`);
  }
  // Slim the image: downloaded .debs and package lists are not needed at run time.
  for (const dir of ["var/cache/apt/archives", "var/lib/apt/lists"]) {
    const full = path.join(mnt, dir);
    for (const e of await fs.readdir(full, { withFileTypes: true }).catch(() => [])) {
      if (e.isFile()) await fs.rm(path.join(full, e.name), { force: true });
    }
  }
  await addAppUser(mnt);
  const status = await fs.readFile(path.join(mnt, "var/lib/dpkg/status"), "utf8").catch(() => "");
  return nodeVersionFromDpkgStatus(status);
}
