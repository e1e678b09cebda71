// The stats parsers of cgroups.ts (cpu, memory, pids, block I/O, /proc/<pid>/net/dev) against file contents copied
// from real hosts: a Debian 12 cgroup v2 container cgroup and a cgroup v1 (hybrid) host.
import { describe, expect, it } from "vitest";
import { keyedValue, parseBlockIo, parseNetDev } from "./cgroups.ts";

// /sys/fs/cgroup/berth/web-1/cpu.stat (v2; usage_usec is CPU time in microseconds)
const V2_CPU_STAT = `usage_usec 14715546512
user_usec 12774443235
system_usec 1941103276
core_sched.force_idle_usec 0
nr_periods 1203
nr_throttled 17
throttled_usec 902113
nr_bursts 0
burst_usec 0
`;

// memory.stat (v2), first lines
const V2_MEMORY_STAT = `anon 6934528
file 9555968
kernel 1032192
kernel_stack 49152
pagetables 98304
sec_pagetables 0
percpu 0
sock 0
vmalloc 0
shmem 0
zswap 0
zswapped 0
file_mapped 7663616
file_dirty 24576
file_writeback 0
swapcached 0
anon_thp 0
inactive_anon 0
active_anon 6934528
inactive_file 20480
active_file 9535488
unevictable 0
`;

// io.stat (v2): one line per device
const V2_IO_STAT = `254:0 rbytes=1048576 wbytes=4096 rios=12 wios=1 dbytes=0 dios=0
8:0 rbytes=512 wbytes=0 rios=1 wios=0 dbytes=0 dios=0
`;

// memory.stat (v1), from a hybrid host
const V1_MEMORY_STAT = `cache 9555968
rss 6934528
rss_huge 0
shmem 9170944
mapped_file 7663616
inactive_file 20480
active_file 364544
hierarchical_memory_limit 9223372036854771712
total_cache 416743424
total_rss 227069952
total_inactive_file 153395200
`;

// blkio.throttle.io_service_bytes_recursive (v1)
const V1_BLKIO = `254:0 Read 4096
254:0 Write 8192
254:0 Sync 12288
254:0 Async 0
254:0 Discard 0
254:0 Total 12288
Total 12288
`;

// /proc/<pid>/net/dev inside a container's network namespace
const NET_DEV = `Inter-|   Receive                                                |  Transmit
 face |bytes    packets errs drop fifo frame compressed multicast|bytes    packets errs drop fifo colls carrier compressed
    lo: 1712340763  369857    0    0    0     0          0         0 1712340763  369857    0    0    0     0       0          0
  ifb0:       0       0    0    0    0     0          0         0        0       0    0    0    0     0       0          0
  eth0: 3377467408  100564    0    0    0     0          0         0  7478229   65925    0    0    0     0       0          0
  eth1:     100       1    0    0    0     0          0         0       20       1    0    0    0     0       0          0
`;

describe("cgroup stats parsing (real file contents)", () => {
  it("reads CPU time from cpu.stat usage_usec (v2)", () => {
    expect(keyedValue(V2_CPU_STAT, "usage_usec") * 1000).toBe(14_715_546_512_000);
    // The prefix must match a whole key: `user_usec` is not `usage_usec`.
    expect(keyedValue(V2_CPU_STAT, "usec")).toBe(0);
  });

  it("reads inactive_file from memory.stat (subtracted from memory.current like docker/kubectl do)", () => {
    expect(keyedValue(V2_MEMORY_STAT, "inactive_file")).toBe(20480);
    expect(keyedValue(V1_MEMORY_STAT, "total_inactive_file")).toBe(153_395_200);
  });

  it("sums block I/O over devices (v2 io.stat, v1 blkio)", () => {
    expect(parseBlockIo(V2_IO_STAT, 2)).toEqual({ read: 1_049_088, write: 4096 });
    // `Total` and `Sync` lines are not counted twice.
    expect(parseBlockIo(V1_BLKIO, 1)).toEqual({ read: 4096, write: 8192 });
    expect(parseBlockIo("", 2)).toEqual({ read: 0, write: 0 });
  });

  it("sums rx/tx of every interface except lo from /proc/<pid>/net/dev", () => {
    expect(parseNetDev(NET_DEV)).toEqual({ rx: 3_377_467_508, tx: 7_478_249 });
    expect(parseNetDev(null)).toEqual({ rx: 0, tx: 0 });
  });
});
