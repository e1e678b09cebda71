// Root tier: `runc exec` into a real running container, with a pty (console socket + relay) and with pipes.
import fs from "node:fs/promises";
import { afterAll, beforeAll, expect, it } from "vitest";
import { describeRoot } from "../../test/helpers/root.ts";
import { createRootEnv, type RootEnv } from "../test-support/root-env.ts";
import type { ExecProcess } from "./exec-process.ts";
import { isRuntimeError } from "./errors.ts";

const MiB = 1024 * 1024;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Collects a process's output until `pattern` shows up (or the timeout). */
async function waitFor(out: { text: string }, pattern: RegExp, timeoutMs = 10_000): Promise<string> {
  const deadline = Date.now() + timeoutMs;
  while (!pattern.test(out.text)) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${pattern}; got ${JSON.stringify(out.text)}`);
    await sleep(25);
  }
  return out.text;
}

function capture(p: ExecProcess): { text: string } {
  const out = { text: "" };
  p.stdout.on("data", (d: Buffer) => (out.text += d.toString("utf8")));
  p.stderr?.on("data", (d: Buffer) => (out.text += d.toString("utf8")));
  return out;
}

describeRoot("exec into a running container (root)", () => {
  let env: RootEnv;
  let pid = 0;

  beforeAll(async () => {
    env = await createRootEnv();
    await env.backend.create(
      env.container("ex-1", {
        command: ["/bin/sh", "-c", "while :; do sleep 1; done"],
        env: { BERTH_APP: "shop", SECRET_FLAVOUR: "mint" },
        limits: { memoryBytes: 48 * MiB, cpuMillis: 250, pids: 40 },
      }),
    );
    await env.backend.start("ex-1");
    pid = (await env.backend.state("ex-1"))!.pid!;
  }, 120_000);

  afterAll(async () => {
    if (env) for (const c of await env.backend.list()) await env.backend.delete(c.id);
    const problems = await env?.destroy();
    expect(problems ?? []).toEqual([]);
  }, 120_000);

  it("gives a pty inside the container: tty, size, resize, env, hostname, and the exit code", async () => {
    const p = await env.backend.exec!("ex-1", { command: ["/bin/sh"], tty: true, cols: 91, rows: 27 });
    const out = capture(p);
    p.stdin.write("tty; stty size; echo app=$BERTH_APP; hostname; id -u\n");
    const first = await waitFor(out, /app=shop[\s\S]*\n\d+\r?\n/);
    expect(first).toMatch(/\/dev\/pts\/\d+/);
    expect(first).toContain("27 91");
    expect(first).toContain("ex-1");
    p.resize(120, 40);
    await sleep(100);
    p.stdin.write("stty size; exit 7\n");
    await waitFor(out, /40 120/);
    expect(await p.done).toEqual({ exitCode: 7 });
  }, 60_000);

  it("runs in the instance's namespaces, cgroup and privileges (never more)", async () => {
    const p = await env.backend.exec!("ex-1", {
      command: [
        "/bin/sh",
        "-c",
        "cat /proc/self/status; cat /proc/self/cgroup; readlink /proc/self/ns/pid; readlink /proc/self/ns/net; echo ==; cat /proc/1/status",
      ],
      tty: false,
      cols: 80,
      rows: 24,
    });
    const out = capture(p);
    expect(await p.done).toEqual({ exitCode: 0 });
    // The instance's init as the container sees it (same user-namespace view of ids), and as the host sees it.
    const [self, init] = out.text.split("==\n") as [string, string];
    const host = await fs.readFile(`/proc/${pid}/status`, "utf8");
    const field = (text: string, name: string) => new RegExp(`^${name}:\\s+(.+)$`, "m").exec(text)?.[1];
    for (const f of ["CapBnd", "CapEff", "CapPrm", "CapInh", "CapAmb", "NoNewPrivs", "Seccomp", "Uid", "Gid"])
      expect(field(self, f), f).toBe(field(init, f));
    for (const f of ["CapBnd", "CapEff", "NoNewPrivs", "Seccomp"]) expect(field(self, f), f).toBe(field(host, f));
    expect(field(self, "NoNewPrivs")).toBe("1");
    expect(out.text).toContain(await fs.readlink(`/proc/${pid}/ns/pid`));
    expect(out.text).toContain(await fs.readlink(`/proc/${pid}/ns/net`));
    expect(out.text).toMatch(/memory:.*\/ex-1/);
  }, 60_000);

  it("pipes binary data both ways without a tty, with stderr apart and EOF on stdin", async () => {
    const p = await env.backend.exec!("ex-1", {
      command: ["/bin/sh", "-c", "cat; echo done >&2; exit 3"],
      tty: false,
      cols: 80,
      rows: 24,
    });
    const chunks: Buffer[] = [];
    let err = "";
    p.stdout.on("data", (d: Buffer) => chunks.push(d));
    p.stderr?.on("data", (d: Buffer) => (err += d.toString()));
    const payload = Buffer.from(Array.from({ length: 200_000 }, (_, i) => (i * 31) % 256));
    p.stdin.end(payload);
    expect(await p.done).toEqual({ exitCode: 3 });
    expect(Buffer.concat(chunks).equals(payload)).toBe(true);
    expect(err).toContain("done");
  }, 60_000);

  it("kill() ends a session; a missing command and a stopped container are errors", async () => {
    const p = await env.backend.exec!("ex-1", { command: ["/bin/sleep", "300"], tty: true, cols: 80, rows: 24 });
    await sleep(300);
    p.kill();
    expect(await p.done).toEqual({ exitCode: 137 });
    const q = await env.backend.exec!("ex-1", { command: ["/nope"], tty: true, cols: 80, rows: 24 });
    expect(await q.done).toMatchObject({ error: expect.stringMatching(/no such file|not found|exec/i) });
    const r = await env.backend.exec!("ex-1", { command: ["/nope"], tty: false, cols: 80, rows: 24 });
    expect(await r.done).toMatchObject({ error: expect.any(String) });
    await env.backend.stop("ex-1", 1000);
    await expect(env.backend.exec!("ex-1", { command: ["/bin/sh"], tty: true, cols: 80, rows: 24 })).rejects.toSatisfy(
      (e) => isRuntimeError(e, "conflict"),
    );
  }, 60_000);
});
