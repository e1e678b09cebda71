import { describe, expect, it } from "vitest";
import { VolumeStreamParams } from "../protocol/methods.ts";
import { archiveArgs, extractArgs, RESTORE_STAGING_PREFIX } from "./volume-archive.ts";

describe("volume archive arguments", () => {
  it("archive: never dereferences links, stays on the volume's filesystem, keeps numeric owners", () => {
    const args = archiveArgs("/state/volumes/vol-abcdefgh/data");
    expect(args).toContain("--one-file-system");
    expect(args).toContain("--numeric-owner");
    expect(args).toContain("--directory=/state/volumes/vol-abcdefgh/data");
    expect(args).toContain(`--exclude=./${RESTORE_STAGING_PREFIX}*`);
    expect(args.some((a) => a === "-h" || a === "--dereference" || a === "--absolute-names")).toBe(false);
    expect(args.at(-1)).toBe(".");
  });

  it("extract: into the given directory, owners kept, never --absolute-names or following directory links", () => {
    const args = extractArgs("/v/data/.berth-restore-1");
    expect(args).toContain("--directory=/v/data/.berth-restore-1");
    expect(args).toContain("--same-owner");
    expect(args).toContain("--numeric-owner");
    for (const bad of ["--absolute-names", "-P", "--keep-directory-symlink", "--dereference", "-h"])
      expect(args).not.toContain(bad);
  });
});

describe("volume.archive / volume.extract params", () => {
  const ok = { session: "bk0123456789abcdef", id: "vol-abcdefgh12", team: "team1" };
  it("accepts a well-formed request", () => {
    expect(VolumeStreamParams.safeParse(ok).success).toBe(true);
  });
  it.each([
    { ...ok, id: "../etc" },
    { ...ok, id: "vol-ABC" },
    { ...ok, team: "../x" },
    { ...ok, session: "x" },
    { ...ok, path: "/etc" },
  ])("refuses %j", (p) => {
    expect(VolumeStreamParams.safeParse(p).success).toBe(false);
  });
});
