// The HAProxy process behind the router: launched detached (master-worker, its own pid file), so it keeps serving
// while the control plane restarts; found again and adopted at the next start; reloaded seamlessly (SIGUSR2 to the
// master, listeners handed over through the admin socket) only when its slot pool must grow. Everything else goes
// through the Runtime API on a Unix socket (mode 0600) in a directory only the control plane's user can enter.
import { spawn } from "node:child_process";
import crypto from "node:crypto";
import fs from "node:fs";
import net from "node:net";
import os from "node:os";
import path from "node:path";
import type { Logger } from "../logger.ts";
import { runTool, ToolError } from "../process/run.ts";

/** Debian's haproxy 2.6 (`apt-get install -y haproxy`). */
export const DEFAULT_HAPROXY_BIN = "/usr/sbin/haproxy";

/** sun_path holds 108 bytes; longer data dirs get their sockets in a stable private directory under the temp dir. */
const MAX_SOCKET_PATH = 100;

/** Where the router keeps its files. */
export interface HaproxyPaths {
  dir: string;
  config: string;
  map: string;
  pid: string;
  admin: string;
}

/** Makes `dir` a directory only this process's user can use, or throws (a symlink or another owner is refused). */
export function privateDir(dir: string): void {
  fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
  const st = fs.lstatSync(dir);
  const uid = process.getuid?.();
  if (!st.isDirectory() || (uid !== undefined && st.uid !== uid)) {
    throw new Error(`router: ${dir} must be a directory owned by this user`);
  }
  fs.chmodSync(dir, 0o700);
}

/** The router's files under `<dataDir>/haproxy`; the same data dir always gives the same paths (adoption needs it). */
export function haproxyPaths(dataDir: string): HaproxyPaths {
  const dir = path.join(path.resolve(dataDir), "haproxy");
  let run = path.join(dir, "run");
  if (path.join(run, "admin.sock").length > MAX_SOCKET_PATH) {
    const id = crypto.createHash("sha256").update(dir).digest("hex").slice(0, 16);
    run = path.join(os.tmpdir(), `berth-haproxy-${id}`);
  }
  return {
    dir,
    config: path.join(dir, "haproxy.cfg"),
    map: path.join(dir, "hosts.map"),
    pid: path.join(dir, "haproxy.pid"),
    admin: path.join(run, "admin.sock"),
  };
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** True if `pid` runs (and is not a zombie). */
export function processAlive(pid: number): boolean {
  try {
    return !fs.readFileSync(`/proc/${pid}/stat`, "utf8").includes(") Z ");
  } catch {
    return false;
  }
}

function cmdlineOf(pid: number): string[] {
  try {
    return fs.readFileSync(`/proc/${pid}/cmdline`, "utf8").split("\0");
  } catch {
    return [];
  }
}

/** Pids of haproxy processes started with our configuration file (master and workers). */
export function ourHaproxyPids(configFile: string): number[] {
  const pids: number[] = [];
  for (const p of fs.readdirSync("/proc")) {
    if (!/^[0-9]+$/.test(p)) continue;
    const argv = cmdlineOf(Number(p));
    if (argv.includes(configFile) && path.basename(argv[0] ?? "").startsWith("haproxy")) pids.push(Number(p));
  }
  return pids;
}

/**
 * Runs Runtime API commands on one connection (prompt mode, so each answer is told apart) and returns the answers in
 * order. Commands are built from validated names only; a newline in one would be a second command, so it is refused.
 */
export function runtimeApi(socket: string, commands: string[], timeoutMs = 10_000): Promise<string[]> {
  for (const c of commands) {
    // A payload command ("set ssl cert NAME <<\nPEM") is one line, "<<", then lines that are not empty (an empty
    // line ends the payload).
    const nl = c.indexOf("\n");
    const head = nl < 0 ? c : c.slice(0, nl);
    const payload = nl < 0 ? undefined : c.slice(nl + 1);
    if (
      /[\r\n;]/.test(head) ||
      (payload !== undefined && (!head.endsWith(" <<") || /\r|\n\n|^\n|\n$/.test(payload) || payload === ""))
    )
      throw new Error(`router: bad runtime command ${JSON.stringify(c.slice(0, 200))}`);
  }
  return new Promise((resolve, reject) => {
    const conn = net.connect(socket);
    let out = "";
    const timer = setTimeout(() => conn.destroy(new Error("router: haproxy runtime API timed out")), timeoutMs);
    conn.setEncoding("utf8");
    conn.on("data", (d: string) => (out += d));
    conn.on("error", (err) => {
      clearTimeout(timer);
      reject(err);
    });
    conn.on("close", () => {
      clearTimeout(timer);
      // "\n> " follows every answer (the first one answers `prompt` itself).
      const parts = out.split("\n> ");
      const answers = parts.slice(1, 1 + commands.length);
      if (answers.length !== commands.length) {
        reject(new Error(`router: haproxy runtime API closed early (${answers.length}/${commands.length} answers)`));
        return;
      }
      resolve(answers);
    });
    conn.end(`prompt\n${commands.map((c) => (c.includes("\n") ? `${c}\n\n` : `${c}\n`)).join("")}quit\n`);
  });
}

/** The worker's pid from `show info`, or undefined when the Runtime API does not answer. */
export async function workerPid(socket: string): Promise<number | undefined> {
  try {
    const [info] = await runtimeApi(socket, ["show info"], 2000);
    const m = /^Pid: ([0-9]+)$/m.exec(info ?? "");
    return m ? Number(m[1]) : undefined;
  } catch {
    return undefined;
  }
}

export interface HaproxyProcessOptions {
  paths: HaproxyPaths;
  log: Logger;
  bin?: string;
}

export class HaproxyProcess {
  private readonly log: Logger;
  private readonly bin: string;

  constructor(private readonly opts: HaproxyProcessOptions) {
    this.log = opts.log.child({ component: "haproxy" });
    this.bin = opts.bin ?? DEFAULT_HAPROXY_BIN;
  }

  /** The master's pid from the pid file, if that process is our running haproxy. */
  masterPid(): number | undefined {
    let pid: number;
    try {
      pid = Number(fs.readFileSync(this.opts.paths.pid, "utf8").trim());
    } catch {
      return undefined;
    }
    if (!Number.isInteger(pid) || pid <= 1 || !processAlive(pid)) return undefined;
    // A reused pid is not ours: only a haproxy started with our own configuration file counts.
    const argv = cmdlineOf(pid);
    if (!argv.includes(this.opts.paths.config) || !path.basename(argv[0] ?? "").startsWith("haproxy")) return undefined;
    return pid;
  }

  /** True if our haproxy runs and its Runtime API answers. */
  async running(): Promise<boolean> {
    return this.masterPid() !== undefined && (await workerPid(this.opts.paths.admin)) !== undefined;
  }

  /** Writes the configuration and map files atomically (what a restart or reload will read). */
  writeFiles(config: string, map: string): void {
    const { paths } = this.opts;
    privateDir(paths.dir);
    privateDir(path.dirname(paths.admin));
    for (const [file, text] of [
      [paths.map, map],
      [paths.config, config],
    ] as const) {
      const tmp = `${file}.tmp`;
      fs.writeFileSync(tmp, text, { mode: 0o600 });
      fs.renameSync(tmp, file);
    }
  }

  /** Checks the written configuration with `haproxy -c` (before a reload, so a bad one never replaces a good one). */
  async check(): Promise<void> {
    try {
      await runTool(this.bin, ["-c", "-q", "-f", this.opts.paths.config], { timeoutMs: 30_000 });
    } catch (err) {
      const stderr = err instanceof ToolError && err.code !== null ? err.stderr : String(err);
      throw new Error(`router: haproxy refused the configuration: ${stderr.slice(0, 1000)}`);
    }
  }

  /** Starts haproxy detached from us from the written files; resolves once its Runtime API answers. */
  async launch(timeoutMs = 10_000): Promise<void> {
    if (!fs.existsSync(this.bin))
      throw new Error(`router: haproxy not found at ${this.bin}; install it with: apt-get install -y haproxy`);
    await this.killLeftovers();
    const { paths } = this.opts;
    fs.rmSync(paths.admin, { force: true });
    // Not runTool: haproxy daemonizes (-D) into its own session (detached) and outlives us; its first process's exit
    // is the result, while the daemon may keep the stderr pipe open (runTool would wait for that to close).
    const child = spawn(this.bin, ["-W", "-D", "-f", paths.config, "-p", paths.pid], {
      detached: true,
      stdio: ["ignore", "ignore", "pipe"],
      cwd: paths.dir,
      // Nothing of ours (secrets) reaches it.
      env: { PATH: "/usr/sbin:/usr/bin:/sbin:/bin", NODE_ENV: process.env.NODE_ENV },
    });
    let stderr = "";
    child.stderr.setEncoding("utf8");
    child.stderr.on("data", (d: string) => (stderr += d.slice(0, 4000)));
    const code = await new Promise<number | null>((resolve, reject) => {
      child.once("error", reject);
      child.once("exit", (c) => resolve(c));
    });
    child.stderr.destroy();
    child.unref();
    if (code !== 0) throw new Error(`router: haproxy failed to start (exit ${code}): ${stderr.trim().slice(0, 1000)}`);
    const deadline = Date.now() + timeoutMs;
    while (Date.now() < deadline) {
      if (await this.running()) {
        this.log.info({ pid: this.masterPid() }, "haproxy started");
        return;
      }
      await sleep(50);
    }
    throw new Error(`router: haproxy did not answer on ${paths.admin} within ${timeoutMs} ms`);
  }

  /**
   * Seamless reload of the written files: the master starts a new worker that takes the listening sockets over
   * (expose-fd listeners) while the old one finishes its connections. Resolves once the new worker answers.
   */
  async reload(timeoutMs = 15_000): Promise<void> {
    await this.check();
    const master = this.masterPid();
    const before = await workerPid(this.opts.paths.admin);
    if (master === undefined || before === undefined) throw new Error("router: haproxy is not running");
    process.kill(master, "SIGUSR2");
    const deadline = Date.now() + timeoutMs;
    while (Date.now() < deadline) {
      const now = await workerPid(this.opts.paths.admin);
      if (now !== undefined && now !== before) {
        this.log.info({ worker: now }, "haproxy reloaded (slot pool grew)");
        return;
      }
      await sleep(50);
    }
    throw new Error("router: haproxy reload did not bring up a new worker");
  }

  /** Stops haproxy (SIGTERM to the master, SIGKILL after 5 s) and anything else started with our configuration. */
  async stop(): Promise<void> {
    const master = this.masterPid();
    if (master !== undefined) {
      process.kill(master, "SIGTERM");
      for (let i = 0; i < 50 && processAlive(master); i++) await sleep(100);
    }
    await this.killLeftovers();
    fs.rmSync(this.opts.paths.pid, { force: true });
  }

  /** Kills processes started with our configuration file (a master we lost track of, orphaned workers). */
  private async killLeftovers(): Promise<void> {
    const pids = ourHaproxyPids(this.opts.paths.config);
    if (pids.length === 0) return;
    this.log.warn({ pids }, "stopping haproxy processes left over from an earlier run");
    for (const pid of pids) {
      try {
        process.kill(pid, "SIGKILL");
      } catch {
        // already gone
      }
    }
    for (let i = 0; i < 50 && pids.some(processAlive); i++) await sleep(100);
  }
}
