// A busybox base image built from Debian's busybox-static with buildah (no registry needed), cached by name in the
// test's storage so a run builds it once.
import fs from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { run } from "../runtime/exec.ts";
import type { Buildah } from "../runtime/storage.ts";

/** Image name used by the root tier. */
export const BUSYBOX_IMAGE = "localhost/berth-test-busybox:latest";

const CONTAINERFILE = [
  "FROM scratch",
  "COPY busybox /bin/busybox",
  'RUN ["/bin/busybox","--install","-s","/bin"]',
  "",
].join("\n");

/** Builds BUSYBOX_IMAGE into `buildah`'s storage unless it is there already. */
export async function ensureBusyboxImage(buildah: Buildah, buildahPath = "/usr/bin/buildah"): Promise<string> {
  if (await buildah.hasImage(BUSYBOX_IMAGE)) return BUSYBOX_IMAGE;
  const ctx = await fs.mkdtemp(path.join(os.tmpdir(), "berth-busybox-"));
  try {
    await fs.copyFile("/bin/busybox", path.join(ctx, "busybox"));
    await fs.writeFile(path.join(ctx, "Containerfile"), CONTAINERFILE);
    await run(
      buildahPath,
      [
        ...buildah.globalArgs(),
        "bud",
        "--runtime",
        "/usr/sbin/runc",
        "--isolation",
        "oci",
        // No network for RUN: otherwise buildah sets one up through netavark and leaves its iptables chains behind.
        "--network",
        "none",
        "--quiet",
        "-t",
        BUSYBOX_IMAGE,
        "-f",
        path.join(ctx, "Containerfile"),
        ctx,
      ],
      { timeoutMs: 120_000 },
    );
  } finally {
    await fs.rm(ctx, { recursive: true, force: true });
  }
  return BUSYBOX_IMAGE;
}
