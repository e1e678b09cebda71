// Network probes from inside a running container (runc exec of busybox nc/nslookup), and small network namespaces a
// test creates as stand-ins for machines around a node (the internet, a metadata service). Test traffic only ever
// goes to addresses these helpers or the test created.
import { type ChildProcess, spawn } from "node:child_process";
import crypto from "node:crypto";
import { run } from "../runtime/exec.ts";

const RUNC = "/usr/sbin/runc";
const IP = "/usr/sbin/ip";

/** Runs `script` with /bin/sh in the container; never rejects (ok = exit status 0). */
export async function execIn(runcRoot: string, id: string, script: string): Promise<{ ok: boolean; out: string }> {
  try {
    const r = await run(RUNC, ["--root", runcRoot, "exec", id, "/bin/sh", "-c", script], { timeoutMs: 30_000 });
    return { ok: true, out: r.stdout.trim() };
  } catch (err) {
    return { ok: false, out: err instanceof Error ? err.message : String(err) };
  }
}

/**
 * Opens a TCP connection from the container to `host:port` and returns what the server sent, or null when the
 * connection failed (refused, unreachable, or no answer within `timeoutS` seconds).
 */
export async function fetchFrom(
  runcRoot: string,
  id: string,
  host: string,
  port: number,
  timeoutS = 2,
): Promise<string | null> {
  const r = await execIn(runcRoot, id, `nc -w ${timeoutS} ${host} ${port} </dev/null`);
  return r.ok && r.out !== "" ? r.out : null;
}

/**
 * GETs `path` from `host:port` inside the container (HTTP/1.0 over busybox nc: busybox wget crashes in some images),
 * optionally with a Host header; the body, or null when the request failed (refused, unreachable, a status >= 400,
 * or no answer within `timeoutS` seconds).
 */
export async function httpFrom(
  runcRoot: string,
  id: string,
  target: { host: string; port: number; path: string; hostHeader?: string },
  timeoutS = 3,
): Promise<string | null> {
  const safe = /^[\w.:%/-]+$/;
  if (![target.host, target.path, target.hostHeader ?? "x"].every((v) => safe.test(v)))
    throw new Error(`unexpected target ${JSON.stringify(target)}`);
  const request = `GET ${target.path} HTTP/1.0\\r\\nHost: ${target.hostHeader ?? target.host}\\r\\n\\r\\n`;
  // stdin stays open a second: busybox nc stops reading the answer once its input ends (a proxied answer is slower).
  const r = await execIn(
    runcRoot,
    id,
    `(printf '${request}'; sleep 1) | nc -w ${timeoutS} ${target.host} ${target.port}`,
  );
  const status = /^HTTP\/1\.[01] (\d{3})/.exec(r.out)?.[1];
  if (!r.ok || status === undefined || Number(status) >= 400) return null;
  // CGI responses may end their header block with bare newlines.
  const end = /\r?\n\r?\n/.exec(r.out);
  return end ? r.out.slice(end.index + end[0].length) : "";
}

/** A network namespace the test created, with a veth into a bridge or into the host. */
export interface PeerNetns {
  name: string;
  /** Runs `argv` inside the namespace (a listener, say); killed by destroy(). */
  spawn(argv: string[]): ChildProcess;
  /** Runs `ip` with `args` inside the namespace. */
  ip(args: string[]): Promise<void>;
  destroy(): Promise<void>;
}

/**
 * A namespace wired with a veth pair: the outer end joins `bridge` (when given) or stays in the caller's namespace
 * with `outerAddress`; the inner end gets `addresses` (CIDRs). `inNetns` creates the outer end inside that named
 * namespace instead of the caller's (a simulated host's).
 */
export async function createPeerNetns(o: {
  addresses: string[];
  bridge?: string;
  outerAddress?: string;
  inNetns?: string;
}): Promise<PeerNetns> {
  const tag = crypto.randomBytes(3).toString("hex");
  const name = `bp${tag}`;
  const outer = `vo${tag}`;
  const children: ChildProcess[] = [];
  const outerIp = (args: string[]) => run(IP, o.inNetns ? ["-n", o.inNetns, ...args] : args);
  const inner = (args: string[]) => run(IP, ["-n", name, ...args]).then(() => undefined);
  const destroy = async () => {
    for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill("SIGKILL");
    await run(IP, ["netns", "delete", name]).catch(() => undefined); // takes the veth pair with it
    await outerIp(["link", "delete", outer]).catch(() => undefined);
  };
  try {
    await run(IP, ["netns", "add", name]);
    await outerIp(["link", "add", outer, "type", "veth", "peer", "name", `vi${tag}`]);
    await outerIp(["link", "set", `vi${tag}`, "netns", name]);
    if (o.bridge) await outerIp(["link", "set", outer, "master", o.bridge]);
    if (o.outerAddress) await outerIp(["addr", "add", o.outerAddress, "dev", outer]);
    await outerIp(["link", "set", outer, "up"]);
    await inner(["link", "set", `vi${tag}`, "name", "eth0"]);
    for (const a of o.addresses) await inner(["addr", "add", a, "dev", "eth0"]);
    await inner(["link", "set", "eth0", "up"]);
    await inner(["link", "set", "lo", "up"]);
  } catch (err) {
    await destroy();
    throw err;
  }
  return {
    name,
    spawn(argv) {
      const child = spawn(IP, ["netns", "exec", name, ...argv], { stdio: "ignore" });
      children.push(child);
      return child;
    },
    ip: inner,
    destroy,
  };
}
