// Tenant isolation on a node, against real runc/conmon/CNI/buildah containers (issue 13, items 2-4): container root is
// not host root, the capability set is the documented minimum, two teams get disjoint host id ranges, images with
// files of a non-root user still work, the writable layer has a size limit that fails with ENOSPC inside the container
// only, and the bandwidth limit caps a transfer between two containers on the test's own bridge.
import fs from "node:fs/promises";
import net from "node:net";
import os from "node:os";
import path from "node:path";
import { afterAll, afterEach, beforeAll, expect, it } from "vitest";
import { silentLogger } from "../../runtime-agent/log.ts";
import { capabilityMask, DEFAULT_CAPABILITIES } from "../../runtime-agent/oci/capabilities.ts";
import { run } from "../../runtime-agent/runtime/exec.ts";
import { OciBackend } from "../../runtime-agent/runtime/oci-backend.ts";
import { hostCounts } from "../../runtime-agent/test-support/host-counts.ts";
import { createRootEnv, type RootEnv } from "../../runtime-agent/test-support/root-env.ts";
import { describeRoot } from "../helpers/root.ts";

const MiB = 1024 * 1024;
const BLOCK = 65_536;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
/** The image of the "non-root files" case: files owned by uid 1000 and by root, run as its own user. */
const APPUSER_IMAGE = "localhost/berth-test-appuser:latest";

async function until<T>(what: string, fn: () => Promise<T | undefined | null | false>, timeoutMs = 20_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await fn();
    if (v) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(50);
  }
}

/** One field of /proc/PID/status (host view). */
async function statusField(pid: number, name: string): Promise<string> {
  const status = await fs.readFile(`/proc/${pid}/status`, "utf8");
  const v = new RegExp(`^${name}:\\s+(.+)$`, "m").exec(status)?.[1];
  if (v === undefined) throw new Error(`no ${name} in /proc/${pid}/status`);
  return v.trim();
}

/** The host uids (real, effective, saved, fs) of a process. */
async function hostUids(pid: number): Promise<number[]> {
  return (await statusField(pid, "Uid")).split(/\s+/).map(Number);
}

/** The single line of a process's uid_map: [container id, host id, size]. */
async function uidMap(pid: number): Promise<number[]> {
  return (await fs.readFile(`/proc/${pid}/uid_map`, "utf8")).trim().split(/\s+/).map(Number);
}

/** The container's log lines without the k8s-file prefix. */
async function logLines(logPath: string): Promise<string[]> {
  const text = await fs.readFile(logPath, "utf8").catch(() => "");
  return text
    .split("\n")
    .filter(Boolean)
    .map((l) => l.split(" ").slice(3).join(" "));
}

function httpGet(host: string, port: number, p: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const sock = net.connect({ host, port });
    let data = "";
    sock.setTimeout(3000, () => sock.destroy(new Error("timeout")));
    sock.on("connect", () => sock.write(`GET ${p} HTTP/1.0\r\nHost: x\r\n\r\n`));
    sock.on("data", (d) => (data += d.toString()));
    sock.on("end", () => resolve(data));
    sock.on("error", reject);
  });
}

/** Builds the non-root image into the environment's storage (busybox + files of uid 1000 and root, USER app). */
async function buildAppUserImage(env: RootEnv): Promise<void> {
  const ctx = await fs.mkdtemp(path.join(os.tmpdir(), "berth-appuser-"));
  try {
    await fs.copyFile("/bin/busybox", path.join(ctx, "busybox"));
    await fs.writeFile(
      path.join(ctx, "Containerfile"),
      [
        "FROM scratch",
        "COPY busybox /bin/busybox",
        'RUN ["/bin/busybox","--install","-s","/bin"]',
        'RUN ["/bin/sh","-c","mkdir -p /www /home/app /etc && echo app-page > /www/index.html && ' +
          "echo root-only-readable > /root-file && chmod 644 /root-file && chown -R 1000:1000 /www /home/app && " +
          "printf 'root:x:0:0::/root:/bin/sh\\\\napp:x:1000:1000::/home/app:/bin/sh\\\\n' > /etc/passwd && " +
          "printf 'root:x:0:\\\\napp:x:1000:\\\\n' > /etc/group\"]",
        "USER app",
        'CMD ["httpd","-f","-p","8080","-h","/www"]',
        "",
      ].join("\n"),
    );
    await run(
      "/usr/bin/buildah",
      [
        ...env.backend.buildah.globalArgs(),
        "bud",
        "--runtime",
        "/usr/sbin/runc",
        "--isolation",
        "oci",
        "--network",
        "none",
        "--quiet",
        "-t",
        APPUSER_IMAGE,
        "-f",
        path.join(ctx, "Containerfile"),
        ctx,
      ],
      { timeoutMs: 120_000 },
    );
  } finally {
    await fs.rm(ctx, { recursive: true, force: true });
  }
}

describeRoot("node isolation: user namespaces, capabilities, disk and bandwidth limits (root)", () => {
  let env: RootEnv;
  let legacy: OciBackend | undefined;

  beforeAll(async () => {
    env = await createRootEnv();
    await buildAppUserImage(env);
  });

  afterEach(async () => {
    for (const c of await env.backend.list()) await env.backend.delete(c.id);
    for (const c of (await legacy?.list()) ?? []) await legacy?.delete(c.id);
  });

  afterAll(async () => {
    const problems = await env?.destroy();
    expect(problems ?? []).toEqual([]);
  });

  it("runs container root as an unprivileged host uid with the documented capability set", async () => {
    const { backend } = env;
    const script = "echo id=$(id -u); echo map=$(cat /proc/self/uid_map); while :; do sleep 0.1; done";
    const c = await backend.create(env.container("uns-root", { command: ["/bin/sh", "-c", script] }));
    await backend.start("uns-root");
    const pid = (await backend.state("uns-root"))!.pid!;
    const lines = await until("output", async () => {
      const l = await logLines(c.logPath!);
      return l.some((x) => x.startsWith("map=")) && l;
    });
    // Soft assertions: each one is reported on its own (on the old code every one of them failed).
    expect.soft(lines).toContain("id=0"); // root inside...
    for (const uid of await hostUids(pid)) {
      expect.soft(uid).not.toBe(0); // ...but not on the host
      expect.soft(uid).toBeGreaterThanOrEqual(BLOCK);
    }
    const [inside, host, size] = await uidMap(pid);
    expect.soft(inside).toBe(0);
    expect.soft(host).toBe((await hostUids(pid))[0]);
    expect.soft(size).toBe(BLOCK);
    expect.soft(backend.userNamespaces).toBe(true);

    // CapEff (and the bounding set) is exactly the documented minimal set; nothing beyond it.
    expect.soft(BigInt(`0x${await statusField(pid, "CapEff")}`)).toBe(capabilityMask(DEFAULT_CAPABILITIES));
    expect.soft(BigInt(`0x${await statusField(pid, "CapBnd")}`)).toBe(capabilityMask(DEFAULT_CAPABILITIES));
    expect(await statusField(pid, "NoNewPrivs")).toBe("1");
    expect(await statusField(pid, "Seccomp")).toBe("2");
  });

  it("keeps what common images need (chown, own user, low ports) and denies the rest (/sys, /proc, caps)", async () => {
    const { backend } = env;
    const script = [
      // busybox's image has no passwd/group: write them into the writable layer (root may, it owns /etc there).
      "mkdir -p /etc && printf 'root:x:0:0::/:/bin/sh\\nnobody:x:65534:65534::/:/bin/sh\\n' > /etc/passwd",
      "printf 'root:x:0:\\nnogroup:x:65534:\\n' > /etc/group",
      "touch /owned; chown 1000:1000 /owned; echo chown=$? owner=$(stat -c %u /owned)",
      "echo su=$(su -s /bin/sh -c 'id -u' nobody 2>&1)",
      "su -s /bin/sh -c 'nc -l -p 80 >/dev/null 2>&1 & sleep 0.3; kill $!' nobody; echo lowport-nonroot=$?",
      "mknod /dev/x c 1 3 2>/dev/null; echo mknod=$?",
      "echo 1 > /sys/kernel/uevent_helper 2>/dev/null; echo sys=$?",
      "echo 1 > /proc/sys/vm/drop_caches 2>/dev/null; echo procsys=$?",
      "echo interrupts=$(wc -c < /proc/interrupts 2>/dev/null || echo none)",
      "echo kallsyms=$(wc -c < /proc/kallsyms 2>/dev/null || echo none)",
      "echo sysmount=$(grep ' /sys ' /proc/mounts | cut -d' ' -f4 | cut -d, -f1)",
      "cat /proc/sys/net/ipv4/ip_unprivileged_port_start",
      "echo done",
    ].join("; ");
    const c = await backend.create(env.container("uns-caps", { command: ["/bin/sh", "-c", script] }));
    await backend.start("uns-caps");
    await until("exit", async () => (await backend.state("uns-caps"))?.status === "stopped");
    const lines = await logLines(c.logPath!);
    expect(lines).toEqual(
      expect.arrayContaining([
        "chown=0 owner=1000",
        "su=65534",
        "lowport-nonroot=0",
        "mknod=1",
        "sys=1",
        "procsys=1",
        "interrupts=0",
        "kallsyms=0",
        "sysmount=ro",
        "0",
        "done",
      ]),
    );
  });

  it("gives two teams disjoint host id ranges, kept across a backend restart", async () => {
    const { backend } = env;
    const loop = ["/bin/sh", "-c", "touch /mine; while :; do sleep 0.1; done"];
    await backend.create(env.container("team-a-1", { team: "team-a", command: loop }));
    await backend.create(env.container("team-b-1", { team: "team-b", command: loop }));
    await backend.create(env.container("team-a-2", { team: "team-a", command: loop }));
    for (const id of ["team-a-1", "team-b-1", "team-a-2"]) await backend.start(id);
    const pids = await Promise.all(
      ["team-a-1", "team-b-1", "team-a-2"].map(async (id) => (await backend.state(id))!.pid!),
    );
    const [a1, b1, a2] = await Promise.all(pids.map(uidMap));
    expect(a1).toEqual(a2); // one team, one range
    const [a, b] = [a1![1]!, b1![1]!];
    expect(a1![2]).toBe(BLOCK);
    expect(b1![2]).toBe(BLOCK);
    expect(Math.abs(a - b)).toBeGreaterThanOrEqual(BLOCK); // no host id in common
    for (const start of [a, b]) expect(start).toBeGreaterThanOrEqual(BLOCK);

    // A file written by team A's root belongs, on the host, to an id of A's range only.
    const rootfsA = (await backend.store.readMeta("team-a-1"))!.rootfs!;
    const st = await until("file", () => fs.stat(path.join(rootfsA, "mine")).catch(() => null));
    expect(st.uid).toBe(a);
    expect(st.uid < b || st.uid >= b + BLOCK).toBe(true);

    // A restarted agent (a new backend on the same state) keeps every team's range.
    const reopened = await OciBackend.open(backend.config, silentLogger());
    expect(await reopened.idRanges!.rangeFor("team-a")).toEqual({ hostId: a, size: BLOCK });
    expect(await reopened.idRanges!.rangeFor("team-b")).toEqual({ hostId: b, size: BLOCK });
    expect((await reopened.store.readMeta("team-b-1"))?.idRange).toEqual({ hostId: b, size: BLOCK });
  });

  it("runs an image whose files belong to a non-root user and to root", async () => {
    const { backend } = env;
    const web = await backend.create(env.container("appuser-web", { image: APPUSER_IMAGE, command: undefined }));
    await backend.start("appuser-web");
    const pid = (await backend.state("appuser-web"))!.pid!;
    const page = await until("httpd serving", () => httpGet(web.ip!, 8080, "/index.html").catch(() => null));
    expect(page).toMatch(/^HTTP\/1\.[01] 200/);
    expect(page).toContain("app-page");
    // The image's uid 1000 is not the host's uid 1000 (a real user there, possibly).
    for (const uid of await hostUids(pid)) expect(uid).toBeGreaterThanOrEqual(BLOCK);
    const range = (await backend.store.readMeta("appuser-web"))!.idRange!;
    expect(await hostUids(pid)).toEqual([
      range.hostId + 1000,
      range.hostId + 1000,
      range.hostId + 1000,
      range.hostId + 1000,
    ]);
    expect(BigInt(`0x${await statusField(pid, "CapEff")}`)).toBe(0n); // a non-root user needs no capability

    const script = [
      "echo me=$(id -u)",
      "echo new > /www/new && echo write-own=ok",
      "echo home > /home/app/f && echo write-home=ok",
      "echo root-file=$(cat /root-file)",
      "echo x > /root-file 2>/dev/null; echo write-root-file=$?",
      "echo owner=$(stat -c %u /www/index.html)",
    ].join("; ");
    const c = await backend.create(
      env.container("appuser-sh", { image: APPUSER_IMAGE, command: ["/bin/sh", "-c", script] }),
    );
    await backend.start("appuser-sh");
    await until("exit", async () => (await backend.state("appuser-sh"))?.status === "stopped");
    expect(await logLines(c.logPath!)).toEqual(
      expect.arrayContaining([
        "me=1000",
        "write-own=ok",
        "write-home=ok",
        "root-file=root-only-readable",
        "write-root-file=1",
        "owner=1000",
      ]),
    );
  });

  it("fails writes past the disk limit inside the container only; neighbours and the agent carry on", async () => {
    const { backend } = env;
    const limits = { memoryBytes: 128 * MiB, cpuMillis: 500, pids: 64, diskBytes: 32 * MiB };
    const neighbour = await backend.create(
      env.container("disk-neighbour", {
        port: 8080,
        command: ["/bin/sh", "-c", "trap 'exit 0' TERM; nc -ll -p 8080 -e echo alive & while :; do sleep 0.1; done"],
      }),
    );
    await backend.start("disk-neighbour");
    const fill = [
      "df -k / | tail -1 | awk '{print \"size-kb=\" $2}'",
      // dd's error goes to the container's stderr (the log): a file in the full layer could not take it.
      "dd if=/dev/zero of=/fill bs=1M count=64; echo dd=$?",
      "rm -f /fill; echo after > /after && echo write-after-rm=ok",
      "while :; do sleep 0.1; done",
    ].join("; ");
    const c = await backend.create(env.container("disk-hog", { limits, command: ["/bin/sh", "-c", fill] }));
    await backend.start("disk-hog");
    const lines = await until(
      "fill done",
      async () => {
        const l = await logLines(c.logPath!);
        return l.some((x) => x.startsWith("write-after-rm")) && l;
      },
      60_000,
    );
    const size = Number(lines.find((l) => l.startsWith("size-kb="))?.slice(8));
    expect(size).toBeGreaterThan(16 * 1024);
    expect(size).toBeLessThanOrEqual(32 * 1024); // df inside shows the limit, not the host disk
    expect(lines).toContain("dd=1");
    expect(lines.some((l) => /dd: error writing '\/fill': No space left on device/.test(l))).toBe(true);
    expect(lines).toContain("write-after-rm=ok");
    // The layer's image on the host never grew past the limit.
    const image = await fs.stat(backend.store.file("disk-hog", "disk.img"));
    expect(image.size).toBe(32 * MiB);
    expect(image.blocks * 512).toBeLessThanOrEqual(32 * MiB);

    // The writer and its neighbour still run, the neighbour still answers, the backend still works.
    expect((await backend.state("disk-hog"))?.status).toBe("running");
    expect((await backend.state("disk-neighbour"))?.status).toBe("running");
    expect(await until("neighbour answers", () => httpGet(neighbour.ip!, 8080, "/").catch(() => null))).toContain(
      "alive",
    );
    expect((await backend.stats("disk-hog")).memoryBytes).toBeGreaterThan(0);
    await backend.create(env.container("disk-after", { command: ["/bin/sh", "-c", "echo fine"] }));
    await backend.start("disk-after");
    await until("after exits", async () => (await backend.state("disk-after"))?.exitCode === 0);
    // Teardown releases the loop device and the image.
    await backend.delete("disk-hog");
    const loops = (await run("/usr/sbin/losetup", ["--list", "--noheadings", "--output", "BACK-FILE"])).stdout;
    expect(loops).not.toContain(backend.store.dir("disk-hog"));
  });

  it("releases the writable layer, loop device, user namespace and netns even when the instance's record is lost", async () => {
    const { backend } = env;
    const before = await hostCounts(backend, env.tmp, ["lost-record"]);
    await backend.create(env.container("lost-record"));
    await backend.start("lost-record");
    const during = await hostCounts(backend, env.tmp, ["lost-record"]);
    expect(during).toMatchObject({ loopDevices: 1, netns: 1, ifbs: 1 });
    // A crash between writing state and cleaning up: meta.json is gone, teardown derives every path from the id.
    await fs.rm(backend.store.file("lost-record", "meta.json"));
    await backend.delete("lost-record");
    expect(await hostCounts(backend, env.tmp, ["lost-record"])).toEqual(before);
  });

  it("caps a transfer between two containers at the instance's bandwidth limit, both directions", async () => {
    const { backend } = env;
    const FAST = 100_000_000_000; // effectively unlimited
    const SLOW = 8_000_000; // 8 Mbit/s = 1 MB/s
    const limits = (bits: number) => ({ memoryBytes: 64 * MiB, cpuMillis: 1000, pids: 64, bandwidthBitsPerSec: bits });
    /** Bytes/s the receiver gets from the sender, measured from its own eth0 counters over 2 s. */
    const measure = async (name: string, senderBits: number, receiverBits: number): Promise<number> => {
      const rx = await backend.create(
        env.container(`${name}-rx`, {
          limits: limits(receiverBits),
          // nc ends the connection when its stdin ends: keep it open.
          command: ["/bin/sh", "-c", "sleep 100000 | nc -l -p 9000 > /dev/null; while :; do sleep 0.1; done"],
        }),
      );
      await backend.start(`${name}-rx`);
      const send = `sleep 0.5; dd if=/dev/zero bs=64k count=40000 2>/dev/null | nc ${rx.ip} 9000; while :; do sleep 0.1; done`;
      await backend.create(
        env.container(`${name}-tx`, { limits: limits(senderBits), command: ["/bin/sh", "-c", send] }),
      );
      await backend.start(`${name}-tx`);
      await sleep(1500); // connection up, token buckets past their burst
      const a = await backend.stats(`${name}-rx`);
      const t0 = performance.now();
      await sleep(2000);
      const b = await backend.stats(`${name}-rx`);
      const rate = (b.netRxBytes - a.netRxBytes) / ((performance.now() - t0) / 1000);
      await backend.delete(`${name}-tx`);
      await backend.delete(`${name}-rx`);
      return rate;
    };
    const egress = await measure("bw-egress", SLOW, FAST);
    const ingress = await measure("bw-ingress", FAST, SLOW);
    const free = await measure("bw-free", FAST, FAST);
    const cap = SLOW / 8; // bytes per second
    for (const limited of [egress, ingress]) {
      expect(limited).toBeGreaterThan(cap * 0.3); // the transfer runs...
      expect(limited).toBeLessThan(cap * 1.3); // ...at the limit
    }
    expect(free).toBeGreaterThan(cap * 4); // and without the limit it is far faster
  });

  it("runs without user namespaces on a node that opts out, and says so", async () => {
    legacy = await OciBackend.open(
      {
        ...env.backend.config,
        stateDir: path.join(env.tmp, "state-nouserns"),
        runcRoot: path.join(env.tmp, "runc-nouserns"),
        runDir: path.join(env.tmp, "containers-nouserns"),
        userNamespaces: { ...env.backend.config.userNamespaces, enabled: false },
      },
      silentLogger(),
    );
    expect(legacy.userNamespaces).toBe(false);
    await legacy.create(env.container("plain-root"));
    await legacy.start("plain-root");
    const pid = (await legacy.state("plain-root"))!.pid!;
    expect(await hostUids(pid)).toEqual([0, 0, 0, 0]);
    expect(await uidMap(pid)).toEqual([0, 0, 4294967295]);
    // Least privilege still holds without a user namespace.
    expect(BigInt(`0x${await statusField(pid, "CapEff")}`)).toBe(capabilityMask(DEFAULT_CAPABILITIES));
  });
});
