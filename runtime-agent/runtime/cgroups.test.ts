import { describe, expect, it } from "vitest";
import { keyedValue, parseBlockIo, parseCgroupMounts, parseNetDev } from "./cgroups.ts";

const MOUNTINFO = `25 30 0:22 / /sys rw,nosuid,nodev,noexec,relatime shared:7 - sysfs sysfs rw
30 25 0:26 / /sys/fs/cgroup rw,relatime - tmpfs tmpfs rw,mode=755
31 30 0:27 / /sys/fs/cgroup/memory rw,relatime - cgroup cgroup rw,memory
32 30 0:28 / /sys/fs/cgroup/cpu,cpuacct rw,relatime - cgroup cgroup rw,cpu,cpuacct
33 30 0:29 / /sys/fs/cgroup/systemd rw,relatime - cgroup cgroup rw,xattr,release_agent=/x,name=systemd
34 30 0:30 / /sys/fs/cgroup/unified rw,relatime - cgroup2 cgroup2 rw
`;

describe("cgroup parsing", () => {
  it("finds v1 hierarchies with their controllers and the v2 mount", () => {
    expect(parseCgroupMounts(MOUNTINFO)).toEqual([
      { mountPoint: "/sys/fs/cgroup/memory", version: 1, controllers: ["memory"] },
      { mountPoint: "/sys/fs/cgroup/cpu,cpuacct", version: 1, controllers: ["cpu", "cpuacct"] },
      { mountPoint: "/sys/fs/cgroup/systemd", version: 1, controllers: ["xattr", "name=systemd"] },
      { mountPoint: "/sys/fs/cgroup/unified", version: 2, controllers: [] },
    ]);
  });

  it("reads keyed values", () => {
    const stat = "cache 10\ntotal_inactive_file 4096\noom_kill_disable 0\noom_kill 3\n";
    expect(keyedValue(stat, "total_inactive_file")).toBe(4096);
    expect(keyedValue(stat, "oom_kill")).toBe(3);
    expect(keyedValue(stat, "missing")).toBe(0);
    expect(keyedValue(null, "oom_kill")).toBe(0);
  });

  it("sums block I/O for v1 and v2", () => {
    expect(parseBlockIo("8:0 Read 100\n8:0 Write 50\n8:0 Sync 1\n8:16 Read 5\nTotal 155\n", 1)).toEqual({
      read: 105,
      write: 50,
    });
    expect(parseBlockIo("8:0 rbytes=100 wbytes=7 rios=1\n8:16 rbytes=1 wbytes=2\n", 2)).toEqual({
      read: 101,
      write: 9,
    });
    expect(parseBlockIo(null, 1)).toEqual({ read: 0, write: 0 });
  });

  it("sums network counters without loopback", () => {
    const dev = `Inter-|   Receive                                                |  Transmit
 face |bytes    packets errs drop fifo frame compressed multicast|bytes    packets errs drop fifo colls carrier compressed
    lo:     999       9    0    0    0     0          0         0      999       9    0    0    0     0       0          0
  eth0:    1500      10    0    0    0     0          0         0      700       5    0    0    0     0       0          0
`;
    expect(parseNetDev(dev)).toEqual({ rx: 1500, tx: 700 });
  });
});
