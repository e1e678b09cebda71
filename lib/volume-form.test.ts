// The dashboard's volume checks agree with the authorities: the server's name pattern and size limits, the agent's
// mount path rule, and the CLI's size parsing.
import { describe, expect, it } from "vitest";
import { checkVolumeForm, formatVolumeSize } from "./volume-form";
import { isValidVolumeMountPath, parseVolumeSize, VOLUME_NAME_PATTERN, VOLUME_SIZE_MB } from "../shared/volumes";
import { isValidMountPath } from "../runtime-agent/protocol/names.ts";
import { VOLUME_LIMITS, VOLUME_NAME_PATTERN as SERVER_NAME } from "../server/volumes/volumes.ts";
import { parseDisk } from "../cli/commands/ps.ts";

const ok = { name: "data", size: "1G", mountPath: "/data", processType: "web" };

describe("volume form checks", () => {
  it("use the server's name pattern and size limits", () => {
    expect(VOLUME_NAME_PATTERN.source).toBe(SERVER_NAME.source);
    expect(VOLUME_SIZE_MB).toEqual(VOLUME_LIMITS.sizeMb);
  });

  it("accept and refuse the mount paths the agent does", () => {
    const paths = ["/data", "/var/lib/x", "/a/b.c_d-e", "/", "data", "/etc", "/etc/hosts", "/etc/app", "/proc/x"];
    for (const p of [...paths, "/dev", "/sys/fs", "/a/../b", "/a/./b", "/a b", `/${"x".repeat(200)}`, "/a//b"])
      expect(isValidVolumeMountPath(p), p).toBe(isValidMountPath(p));
  });

  it("read sizes as `berth volumes:create --size` does", () => {
    for (const s of ["512M", "1G", "1.5G", "2g", "1T", "100", "1GB", " 64M "])
      expect(parseVolumeSize(s), s).toBe(parseDisk(s));
    for (const s of ["", "G", "1.3M", "-1G", "1K", "1 G x"]) {
      expect(parseVolumeSize(s), s).toBeNull();
      expect(() => parseDisk(s), s).toThrow();
    }
  });

  it("say what is wrong with each field, and nothing for a good form", () => {
    expect(checkVolumeForm(ok)).toEqual({ problems: {}, sizeMb: 1024 });
    const bad = checkVolumeForm({ name: "Data-", size: "10M", mountPath: "/proc/x", processType: "" });
    expect(Object.keys(bad.problems).sort()).toEqual(["mountPath", "name", "processType", "size"]);
    expect(bad.problems.size).toBe("Use a size from 64 MiB to 1 TiB.");
    expect(checkVolumeForm({ ...ok, name: "data-" }).problems.name).toBeDefined();
    expect(checkVolumeForm({ ...ok, size: "1.3M" }).problems.size).toMatch(/whole number/);
    expect(formatVolumeSize(1536)).toBe("1536 MiB");
    expect(formatVolumeSize(2048)).toBe("2 GiB");
  });
});
