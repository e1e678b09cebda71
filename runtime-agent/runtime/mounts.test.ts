import { describe, expect, it } from "vitest";
import { isRuntimeError } from "./errors.ts";
import { assertMountOptionPath, mountPoints, mountPointsUnder, unescapeMountPath } from "./mounts.ts";
import { mkfsArgs } from "./writable-layer.ts";
import { idMapLine } from "./userns.ts";

describe("mounts", () => {
  it("reads this namespace's mount points", async () => {
    const all = await mountPoints();
    expect(all).toContain("/");
    expect(await mountPointsUnder("/proc")).toContain("/proc");
    expect(await mountPointsUnder("/no/such/dir")).toEqual([]);
  });

  it("decodes mountinfo's octal escapes", () => {
    expect(unescapeMountPath("/run/a\\040b\\011c\\134d")).toBe("/run/a b\tc\\d");
  });

  it.each(["/a,lowerdir=/", "/a:b", "/a\\b", "/a b", "relative"])("refuses %j in mount options", (p) => {
    let err: unknown;
    try {
      assertMountOptionPath(p);
    } catch (e) {
      err = e;
    }
    expect(isRuntimeError(err, "invalid")).toBe(true);
  });
});

describe("writable layer and user namespace helpers", () => {
  it("makes a journal-less ext4 with no reserved blocks, the image after --", () => {
    const args = mkfsArgs("/var/lib/berth-agent/runtime/instances/web-1/disk.img");
    expect(args.slice(-2)).toEqual(["--", "/var/lib/berth-agent/runtime/instances/web-1/disk.img"]);
    expect(args).toContain("^has_journal");
    expect(args.join(" ")).toContain("-m 0");
  });

  it("maps container 0.. to the range and never to host root", () => {
    expect(idMapLine({ hostId: 1_000_000, size: 65_536 })).toBe("0 1000000 65536\n");
    expect(() => idMapLine({ hostId: 0, size: 65_536 })).toThrow();
    expect(() => idMapLine({ hostId: 1_000_000, size: 0 })).toThrow();
  });
});
