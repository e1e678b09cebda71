// Root tier: the real backend against runc 1.1, conmon 2.1, CNI plugins and buildah on this host.
import fs from "node:fs/promises";
import net from "node:net";
import path from "node:path";
import { afterAll, afterEach, beforeAll, expect, it } from "vitest";
import { DEFAULT_CAPABILITIES } from "../oci/capabilities.ts";
import { describeRoot } from "../../test/helpers/root.ts";
import { hostCounts } from "../test-support/host-counts.ts";
import { createRootEnv, type RootEnv } from "../test-support/root-env.ts";
import { cgroupMounts, cgroupVersion } from "./cgroups.ts";
import { isRuntimeError } from "./errors.ts";

const MiB = 1024 * 1024;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function until<T>(what: string, fn: () => Promise<T | undefined | null | false>, timeoutMs = 15_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await fn();
    if (v) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(50);
  }
}

function request(host: string, port: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const sock = net.connect({ host, port });
    let data = "";
    sock.setTimeout(3000, () => sock.destroy(new Error("timeout")));
    sock.on("data", (d) => (data += d.toString()));
    sock.on("end", () => resolve(data));
    sock.on("error", reject);
  });
}

async function cgroupFile(env: RootEnv, controller: string, id: string, file: string): Promise<string> {
  const m = (await cgroupMounts()).find((x) => x.controllers.includes(controller));
  return (await fs.readFile(path.join(m!.mountPoint, env.backend.config.cgroupParent, id, file), "utf8")).trim();
}

function capMask(caps: readonly string[]): bigint {
  const numbers: Record<string, number> = {
    CAP_CHOWN: 0,
    CAP_DAC_OVERRIDE: 1,
    CAP_FOWNER: 3,
    CAP_FSETID: 4,
    CAP_KILL: 5,
    CAP_SETGID: 6,
    CAP_SETUID: 7,
    CAP_SETPCAP: 8,
    CAP_NET_BIND_SERVICE: 10,
    CAP_SYS_CHROOT: 18,
    CAP_AUDIT_WRITE: 29,
    CAP_SETFCAP: 31,
  };
  return caps.reduce((m, c) => m | (1n << BigInt(numbers[c]!)), 0n);
}

describeRoot("OCI backend (root)", () => {
  let env: RootEnv;
  const hostPort = 20_000 + Math.floor(Math.random() * 20_000);

  beforeAll(async () => {
    env = await createRootEnv();
  });

  afterEach(async () => {
    // Each test leaves nothing behind even when it fails halfway, so later counts start from zero.
    for (const c of await env.backend.list()) await env.backend.delete(c.id);
  });

  afterAll(async () => {
    const problems = await env?.destroy();
    expect(problems ?? []).toEqual([]);
  });

  it("creates, starts and stops a container with limits, namespaces, seccomp, port mapping and logs", async () => {
    const { backend } = env;
    const cmd =
      "echo hello-out; echo hello-err >&2; nc -ll -p $PORT -e echo hi & trap 'echo got-term; exit 0' TERM; while :; do sleep 0.1; done";
    const created = await backend.create(
      env.container("web-1", {
        command: ["/bin/sh", "-c", cmd],
        port: 8080,
        hostPort,
        env: { GREETING: "$(touch /pwned) `id`" },
        limits: { memoryBytes: 48 * MiB, cpuMillis: 250, pids: 40 },
      }),
    );
    expect(created).toMatchObject({ id: "web-1", status: "created", hostPort });
    expect(created.ip?.startsWith(env.subnetPrefix)).toBe(true);
    await backend.start("web-1");
    const running = await backend.state("web-1");
    expect(running).toMatchObject({ status: "running", pid: expect.any(Number) });
    const pid = running!.pid!;

    // Limits, read back from cgroup v1.
    expect(await cgroupFile(env, "memory", "web-1", "memory.limit_in_bytes")).toBe(String(48 * MiB));
    expect(await cgroupFile(env, "pids", "web-1", "pids.max")).toBe("40");
    expect(await cgroupFile(env, "cpu", "web-1", "cpu.cfs_quota_us")).toBe("25000");
    expect(await cgroupFile(env, "cpu", "web-1", "cpu.cfs_period_us")).toBe("100000");
    expect(await cgroupFile(env, "cpu", "web-1", "cpu.shares")).toBe("256");

    // Namespaces differ from the host's.
    for (const ns of ["pid", "ipc", "uts", "mnt", "net"]) {
      expect(await fs.readlink(`/proc/${pid}/ns/${ns}`)).not.toBe(await fs.readlink(`/proc/self/ns/${ns}`));
    }
    // Capabilities, no_new_privs and seccomp as the spec says.
    const status = await fs.readFile(`/proc/${pid}/status`, "utf8");
    const field = (name: string) => new RegExp(`^${name}:\\s+(\\S+)`, "m").exec(status)?.[1];
    expect(BigInt(`0x${field("CapBnd")}`)).toBe(capMask(DEFAULT_CAPABILITIES));
    expect(BigInt(`0x${field("CapEff")}`) & (1n << 21n)).toBe(0n); // CAP_SYS_ADMIN
    expect(field("NoNewPrivs")).toBe("1");
    expect(field("Seccomp")).toBe("2");
    const environ = (await fs.readFile(`/proc/${pid}/environ`, "utf8")).split("\0");
    expect(environ).toContain("PORT=8080");
    expect(environ).toContain("GREETING=$(touch /pwned) `id`");

    // Port mapping on the published address (the bridge gateway), and the container address on the bridge.
    expect(await until("port mapping", () => request(env.gateway, hostPort).catch(() => null))).toBe("hi\n");
    expect(await request(created.ip!, 8080)).toBe("hi\n");

    // Logs in k8s-file format.
    const log = await until("log lines", async () => {
      const text = await fs.readFile(created.logPath!, "utf8").catch(() => "");
      return text.includes("hello-err") && text.includes("hello-out") ? text : null;
    });
    expect(log).toMatch(/^\d{4}-\d\d-\d\dT\S+ stdout F hello-out$/m);
    expect(log).toMatch(/^\d{4}-\d\d-\d\dT\S+ stderr F hello-err$/m);

    const stats = await backend.stats("web-1");
    expect(stats).toMatchObject({ instanceId: "web-1", memoryLimitBytes: 48 * MiB });
    expect(stats.pids).toBeGreaterThanOrEqual(2);
    expect(stats.cpuNanos).toBeGreaterThan(0);
    expect(stats.netTxBytes).toBeGreaterThan(0);

    const stopped = await backend.stop("web-1", 5_000);
    expect(stopped).toMatchObject({ status: "stopped", exitCode: 0 });
    expect((await fs.readFile(path.join(backend.store.exitDir, "web-1"), "utf8")).trim()).toBe("0");
    expect(await fs.readFile(created.logPath!, "utf8")).toMatch(/stdout F got-term$/m);
    await backend.delete("web-1");
    expect(await backend.state("web-1")).toBeNull();
  });

  it("gives the CPU request, not the limit, as the cgroup's CPU share (cpu.weight on v2, cpu.shares on v1)", async () => {
    const { backend } = env;
    await backend.create(
      env.container("weighted", {
        limits: { memoryBytes: 32 * MiB, cpuMillis: 1000, cpuRequestMillis: 250, pids: 32 },
      }),
    );
    await backend.start("weighted");
    if ((await cgroupVersion()) === 2) {
      const m = (await cgroupMounts()).find((x) => x.version === 2)!;
      const dir = path.join(m.mountPoint, backend.config.cgroupParent, "weighted");
      expect((await fs.readFile(path.join(dir, "cpu.weight"), "utf8")).trim()).toBe("25");
      expect((await fs.readFile(path.join(dir, "cpu.max"), "utf8")).trim()).toBe("100000 100000");
    } else {
      expect(await cgroupFile(env, "cpu", "weighted", "cpu.shares")).toBe("256");
      expect(await cgroupFile(env, "cpu", "weighted", "cpu.cfs_quota_us")).toBe("100000");
    }
    await backend.stop("weighted", 0);
  });

  it("derives runc's state from its files as runc does (created, running, stopped), for list()", async () => {
    const { backend } = env;
    const same = async (id: string, status: string) => {
      const fromRunc = await backend.runc.state(id);
      const fromFiles = await backend.runc.stateFromFiles(id);
      expect(fromRunc?.status).toBe(status);
      expect(fromFiles).toMatchObject({ id, pid: fromRunc?.pid, status, created: fromRunc?.created });
      expect((await backend.list()).find((c) => c.id === id)?.status).toBe(status === "stopped" ? "stopped" : status);
    };
    await backend.create(env.container("files-1"));
    await same("files-1", "created");
    await backend.start("files-1");
    await same("files-1", "running");
    await backend.kill("files-1", "SIGKILL");
    await until("exit", async () => (await backend.runc.state("files-1"))?.status === "stopped");
    await same("files-1", "stopped");
    expect(await backend.runc.stateFromFiles("no-such-container")).toBeNull();
  });

  it("denies namespace creation, mounts and /proc/sys writes; gives the platform's hostname, hosts and resolv.conf", async () => {
    const { backend } = env;
    const script = [
      "unshare -r -U true 2>/dev/null; echo unshare=$?",
      "unshare -n true 2>/dev/null; echo unshare-net=$?",
      "mount -t tmpfs t /tmp 2>/dev/null; echo mount=$?",
      "echo 1 2>/dev/null > /proc/sys/kernel/domainname; echo procsys=$?",
      "echo hostname=$(hostname)",
      'grep -q "sandbox$" /etc/hosts; echo hosts=$?',
      "echo resolv=$(cat /etc/resolv.conf | head -1)",
      "echo firmware=$(ls /sys/firmware | wc -l)",
    ].join("; ");
    const created = await backend.create(env.container("sandbox", { command: ["/bin/sh", "-c", script] }));
    await backend.start("sandbox");
    await until("exit", async () => (await backend.state("sandbox"))?.status === "stopped");
    const log = (await fs.readFile(created.logPath!, "utf8")).split("\n").map((l) => l.split(" ").slice(3).join(" "));
    expect(log).toEqual(
      expect.arrayContaining([
        "unshare=1",
        "unshare-net=1",
        "mount=1",
        "procsys=1",
        "hostname=sandbox",
        "hosts=0",
        "resolv=nameserver 10.88.0.53",
        "firmware=0",
      ]),
    );
  });

  it("records exit codes, escalates to SIGKILL after the grace period, stops unstarted and deletes running containers", async () => {
    const { backend } = env;
    await backend.create(env.container("exit-7", { command: ["/bin/sh", "-c", "exit 7"] }));
    await backend.start("exit-7");
    const info = await until("exit", async () => {
      const s = await backend.state("exit-7");
      return s?.status === "stopped" && s.exitCode !== undefined ? s : null;
    });
    expect(info.exitCode).toBe(7);
    // pid 1 ignores SIGTERM without a handler: stop must escalate to SIGKILL.
    await backend.create(env.container("stubborn", { command: ["/bin/sh", "-c", "while :; do sleep 0.1; done"] }));
    await backend.start("stubborn");
    const t0 = Date.now();
    expect(await backend.stop("stubborn", 300)).toMatchObject({ status: "stopped", exitCode: 137 });
    expect(Date.now() - t0).toBeGreaterThanOrEqual(300);
    await backend.delete("exit-7");
    await backend.delete("stubborn");

    // A created but never started container stops too, and a running one can be deleted directly.
    await backend.create(env.container("unstarted"));
    expect((await backend.stop("unstarted", 1_000)).status).toBe("stopped");
    await backend.create(env.container("running"));
    await backend.start("running");
    await backend.delete("running");
    await backend.delete("unstarted");
    expect(await backend.list()).toEqual([]);
    expect(await backend.runc.list()).toEqual([]);
  });

  it("stops a fork bomb at the pids limit", async () => {
    const { backend } = env;
    // The classic bomb runs beside init (which execs sleep and so never needs to fork again).
    const bomb = `sh -c 'b() { b | b & }; b' & exec sleep 100000`;
    const limits = { memoryBytes: 64 * MiB, cpuMillis: 200, pids: 32 };
    await backend.create(env.container("forkbomb", { command: ["/bin/sh", "-c", bomb], limits }));
    await backend.start("forkbomb");
    await until("pids limit hit", async () =>
      /max [1-9]/.test(await cgroupFile(env, "pids", "forkbomb", "pids.events")),
    );
    expect(Number(await cgroupFile(env, "pids", "forkbomb", "pids.current"))).toBeLessThanOrEqual(32);
    const t0 = Date.now();
    expect((await backend.state("forkbomb"))?.status).toBe("running"); // the container's init and the host still answer
    expect(Date.now() - t0).toBeLessThan(5_000);
    expect((await backend.stop("forkbomb", 0)).status).toBe("stopped");
    await backend.delete("forkbomb");
  });

  it("OOM-kills a memory hog alone, and reports an OOM-killed init", async () => {
    const { backend } = env;
    const hog = `awk 'BEGIN { s = "x"; while (1) s = s s }'`;
    await backend.create(
      env.container("hog-child", {
        command: ["/bin/sh", "-c", `${hog}; echo hog-exit=$?; while :; do sleep 0.1; done`],
        limits: { memoryBytes: 16 * MiB, cpuMillis: 500, pids: 16 },
      }),
    );
    await backend.start("hog-child");
    const info = await backend.state("hog-child");
    await until("hog killed", async () =>
      (await fs.readFile(info!.logPath!, "utf8").catch(() => "")).includes("hog-exit=137"),
    );
    expect((await backend.state("hog-child"))?.status).toBe("running"); // the shell survived: only the hog died
    expect(
      Number(/oom_kill (\d+)/.exec(await cgroupFile(env, "memory", "hog-child", "memory.oom_control"))?.[1]),
    ).toBeGreaterThanOrEqual(1);
    await backend.delete("hog-child");

    await backend.create(
      env.container("hog-init", {
        command: ["/bin/sh", "-c", `exec ${hog}`],
        limits: { memoryBytes: 16 * MiB, cpuMillis: 500, pids: 16 },
      }),
    );
    await backend.start("hog-init");
    const dead = await until("init OOM-killed", async () => {
      const s = await backend.state("hog-init");
      return s?.status === "stopped" && s.exitCode !== undefined ? s : null;
    });
    expect(dead).toMatchObject({ exitCode: 137, oomKilled: true });
    await backend.delete("hog-init");
  });

  it("rejects unsafe requests before touching the host, and cleans up a create that fails midway", async () => {
    const { backend } = env;
    const before = await hostCounts(backend, env.tmp);
    for (const bad of [
      env.container("../escape"),
      { ...env.container("priv"), privileged: true },
      { ...env.container("mounts"), mounts: [{ source: "/", destination: "/host" }] },
      env.container("badenv", { env: { "A=B": "x" } }),
      env.container("badimg", { image: "--storage-driver=vfs" }),
    ]) {
      const err = await backend.create(bad as never).catch((e: unknown) => e);
      expect(isRuntimeError(err, "invalid")).toBe(true);
    }
    // busybox has no CMD: create fails after rootfs and storage container exist; all of it must be gone again.
    const err = await backend.create({ ...env.container("nocmd"), command: undefined }).catch((e: unknown) => e);
    expect(isRuntimeError(err, "invalid")).toBe(true);
    expect(await backend.state("nocmd")).toBeNull();
    expect(await hostCounts(backend, env.tmp)).toEqual(before);
  });

  // 200 cycles (about 2 minutes here): a leak of one veth, lease or mount per cycle cannot hide in the noise.
  const CYCLES = Number(process.env.BERTH_LEAK_CYCLES ?? 200);
  it(`leaves no veth, ifb, netns, lease, mount, loop device, cgroup, NAT rule or process after ${CYCLES} start/stop cycles`, async () => {
    const { backend } = env;
    const ids = Array.from({ length: CYCLES }, (_, i) => `cycle-${i}`);
    // Earlier tests' image pin and idmapped layers go first: the cycles must bring them back and GC take them again.
    await backend.collectRootfsGarbage({ pinGraceMs: 0 });
    const before = await hostCounts(backend, env.tmp, ids);
    for (let i = 0; i < CYCLES; i++) {
      const id = `cycle-${i}`;
      await backend.create(
        env.container(id, {
          port: 8080,
          hostPort: hostPort + 1,
          command: ["/bin/sh", "-c", "trap 'exit 0' TERM; nc -ll -p $PORT -e echo hi & while :; do sleep 0.1; done"],
        }),
      );
      await backend.start(id);
      // Serving means the TERM trap is installed; it also exercises the portmap rules of every cycle.
      expect(await until("serving", () => request(env.gateway, hostPort + 1).catch(() => null))).toBe("hi\n");
      if (i === 0) {
        // The counts see one running instance's resources: they can show a leak.
        const during = await hostCounts(backend, env.tmp, ids);
        expect(during).toMatchObject({ veths: 1, ifbs: 1, bridgePorts: 1, netns: 1, leases: 1, loopDevices: 1 });
        expect(during.cniNatRules).toBeGreaterThan(0);
        expect(during.mounts).toBeGreaterThan(before.mounts);
      }
      expect((await backend.stop(id, 2_000)).exitCode).toBe(0);
      await backend.delete(id);
    }
    // The image's pin and the team's idmapped layers stay for the next start until garbage collection finds them unused.
    const during = await hostCounts(backend, env.tmp, ids);
    expect(during.storageContainers).toBe(1);
    if (backend.userNamespaces) expect(during.mounts).toBeGreaterThan(before.mounts);
    const gc = await backend.collectRootfsGarbage({ pinGraceMs: 0 });
    expect(gc.unpinned).toEqual([backend.images.pinName(await backend.buildah.imageId(env.image))]);
    const after = await hostCounts(backend, env.tmp, ids);
    expect(after).toEqual(before);
    expect(
      after.veths +
        after.ifbs +
        after.cniNatRules +
        after.loopDevices +
        after.mounts +
        after.bridgePorts +
        after.netns +
        after.leases +
        after.conmons +
        after.runcContainers +
        after.storageContainers,
    ).toBe(0);
  }, 900_000);
});
