// Takes down everything one instance created on the host, in reverse order of creation. Every step runs even when
// an earlier one failed, and every step tolerates "already gone", so teardown is idempotent and safe after a crash.
import fs from "node:fs/promises";
import type { Logger } from "pino";
import { removeCgroup } from "./cgroups.ts";
import type { Cni, PortMapping } from "./cni.ts";
import { RuntimeError } from "./errors.ts";
import type { InstanceStore } from "./instance-store.ts";
import { type Mounter, mountPointsUnder } from "./mounts.ts";
import type { NetnsManager } from "./netns.ts";
import { netnsPath } from "./netns.ts";
import type { NetworkPolicy } from "./network-policy-applier.ts";
import type { Runc } from "./runc.ts";
import type { Buildah } from "./storage.ts";
import { removeUserns } from "./userns.ts";
import { removeWritableLayer } from "./writable-layer.ts";

export interface TeardownDeps {
  runc: Runc;
  cni: Cni;
  netns: NetnsManager;
  buildah: Buildah;
  store: InstanceStore;
  mounter: Mounter;
  log: Logger;
  /** The node's network policy (absent when disabled). */
  network?: Pick<NetworkPolicy, "refresh">;
  /** Host-global names of the instance (netns, buildah container) and its cgroup path. */
  hostName: string;
  cgroupPath: string;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function isConmonOf(pid: number, id: string): Promise<boolean> {
  const cmdline = await fs.readFile(`/proc/${pid}/cmdline`, "utf8").catch(() => "");
  const argv = cmdline.split("\0");
  return (argv[0] ?? "").endsWith("conmon") && argv.includes(id);
}

/** Waits for the instance's conmon to exit (it does once the container is gone); kills it after `timeoutMs`. */
async function reapConmon(store: InstanceStore, id: string, timeoutMs: number): Promise<void> {
  const pid = Number((await fs.readFile(store.file(id, "conmon.pid"), "utf8").catch(() => "")).trim());
  if (!Number.isInteger(pid) || pid <= 1) return;
  const deadline = Date.now() + timeoutMs;
  // The pid file may be stale (agent restarted, pid reused): only ever signal a conmon started for this id.
  while (await isConmonOf(pid, id)) {
    if (Date.now() > deadline) {
      process.kill(pid, "SIGKILL");
      return;
    }
    await sleep(25);
  }
}

/**
 * Removes the container, its conmon, network attachment, netns and user namespace, rootfs (overlay, writable-layer
 * filesystem and image; the buildah container of older records), cgroup and state files. Mount points are derived from the id, so a lost
 * record still gets them unmounted.
 */
export async function teardownInstance(d: TeardownDeps, id: string): Promise<void> {
  const meta = await d.store.readMeta(id);
  const failures: unknown[] = [];
  const step = async (name: string, fn: () => Promise<unknown>) => {
    try {
      await fn();
    } catch (err) {
      failures.push(err);
      d.log.warn({ err, id, step: name }, "teardown step failed");
    }
  };

  await step("runc delete", () => d.runc.delete(id, true));
  await step("conmon", () => reapConmon(d.store, id, 5_000));
  // Its rules go before its address does (CNI DEL releases it for the next instance, maybe another team's). The mark
  // in meta.json keeps any later rebuild, by this or another process, from adding them back.
  if (d.network) {
    const network = d.network;
    await step("network policy", async () => {
      if (meta && !meta.ip) return; // never attached: no rules name it
      if (meta?.ip && !meta.networkRemoved) {
        meta.networkRemoved = true;
        await d.store.writeMeta(meta);
      }
      await network.refresh();
    });
  }
  // portmap's DEL is a no-op without mappings; when the record is lost, a placeholder mapping still makes it remove
  // the chains it named after this container id.
  const ports: PortMapping[] =
    meta?.port !== undefined && meta.hostPort !== undefined
      ? [{ hostPort: meta.hostPort, containerPort: meta.port, protocol: "tcp" }]
      : [{ hostPort: 1, containerPort: 1, protocol: "tcp" }];
  if (!meta || meta.cniAttached || (await d.netns.exists(d.hostName))) {
    await step("cni del", () => d.cni.del(id, netnsPath(d.hostName), ports, meta?.cniResult));
  }
  await step("netns delete", () => d.netns.delete(d.hostName));
  await step("user namespace", () => removeUserns(d.mounter, d.store.file(id, "userns")));
  await step("writable layer", async () => {
    // Anything else mounted in the run-dir entry (a bind of the image rootfs without disk limits) goes first.
    for (const m of (await mountPointsUnder(d.store.containerDir(id))).reverse())
      if (m !== d.store.rootfsDir(id)) await d.mounter.unmount(m);
    await removeWritableLayer(d.mounter, {
      image: d.store.file(id, "disk.img"),
      layerDir: d.store.layerDir(id),
      rootfs: d.store.rootfsDir(id),
    });
  });
  // Records of agents before the overlay start path have a buildah container per instance; a lost record may too.
  if (!meta?.imageId) await step("rootfs", () => d.buildah.remove(d.hostName));
  await step("cgroup", async () => {
    const busy = await removeCgroup(d.cgroupPath);
    if (busy.length > 0) throw new RuntimeError("failed", `cgroup not removable: ${busy.join(", ")}`);
  });
  if (failures.length === 0) await step("state files", () => d.store.remove(id));
  if (failures.length > 0) {
    throw new RuntimeError(
      "failed",
      `teardown of ${id} incomplete (${failures.length} step(s) failed); state kept for retry`,
      {
        cause: failures[0],
      },
    );
  }
}

/**
 * Run-dir entries without an instance directory and without a runc container are leftovers of a record lost in a
 * crash: unmount and remove them (the instance directory is what create, delete and re-adoption work from). A live
 * runc container keeps its entry: another backend sharing this runc root (tests do) may own it.
 */
export async function sweepRunDir(store: InstanceStore, runc: Runc, mounter: Mounter, log: Logger): Promise<void> {
  const known = new Set(await store.ids());
  for (const id of await store.containerDirIds()) {
    if (known.has(id) || (await runc.state(id).catch(() => null))) continue;
    try {
      for (const m of (await mountPointsUnder(store.containerDir(id))).reverse()) await mounter.unmount(m);
      await fs.rm(store.containerDir(id), { recursive: true, force: true });
    } catch (err) {
      log.warn({ err, id }, "could not remove a leftover run-dir entry");
    }
  }
}
