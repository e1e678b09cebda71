import fs from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { hostsFile, resolvConf, usableNameservers } from "./platform-files.ts";
import { readRootfsFile } from "./rootfs-read.ts";

describe("platform files", () => {
  it("writes hosts and resolv.conf", () => {
    expect(hostsFile("web-1", "10.88.0.5")).toBe(
      "127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\n10.88.0.5\tweb-1\n",
    );
    expect(resolvConf(["10.0.0.2"])).toBe("nameserver 10.0.0.2\noptions ndots:1\n");
  });

  it("drops loopback resolvers, which a netns cannot reach", () => {
    expect(
      usableNameservers(
        "# x\nnameserver 127.0.0.53\nnameserver 10.255.255.53\nnameserver ::1\nsearch lan\nnameserver fd00::1\n",
      ),
    ).toEqual(["10.255.255.53", "fd00::1"]);
  });
});

describe("readRootfsFile", () => {
  let root: string;
  beforeEach(async () => {
    root = await fs.mkdtemp(path.join(os.tmpdir(), "berth-rootfs-test-"));
  });
  afterEach(async () => {
    await fs.rm(root, { recursive: true, force: true });
  });

  it("reads a regular file", async () => {
    await fs.mkdir(path.join(root, "etc"));
    await fs.writeFile(path.join(root, "etc/passwd"), "root:x:0:0::/:/bin/sh\n");
    expect(await readRootfsFile(root, "etc/passwd")).toBe("root:x:0:0::/:/bin/sh\n");
    expect(await readRootfsFile(root, "etc/group")).toBe("");
  });

  it("refuses symlinks at the file and at a parent directory", async () => {
    const secret = path.join(root, "host-secret");
    await fs.writeFile(secret, "secret");
    await fs.mkdir(path.join(root, "etc"));
    await fs.symlink(secret, path.join(root, "etc/passwd"));
    expect(await readRootfsFile(root, "etc/passwd")).toBe("");
    const other = await fs.mkdtemp(path.join(os.tmpdir(), "berth-rootfs-test-"));
    try {
      await fs.mkdir(path.join(other, "etc"));
      await fs.writeFile(path.join(other, "etc/group"), "leak");
      await fs.symlink(path.join(other, "etc"), path.join(root, "etc2"));
      expect(await readRootfsFile(root, "etc2/group")).toBe("");
    } finally {
      await fs.rm(other, { recursive: true, force: true });
    }
    await expect(readRootfsFile(root, "../etc/passwd")).rejects.toThrow();
  });
});
