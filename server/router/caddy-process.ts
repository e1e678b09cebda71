// Runs our own Caddy (not Debian's systemd unit) and talks to it only through its loopback admin API. Caddy runs
// detached from the control plane (its own session, pid file and state in `<dataDir>/caddy`), so a control-plane
// restart or upgrade does not stop the apps' traffic: the next start adopts the running Caddy (caddy-adopt.ts) and
// replaces its config with a graceful /load. The config file Caddy is launched with is always the last one loaded,
// so a Caddy that died (kill -9, crash) is started again with the routes it had, by the watcher or the next start.
import { spawn } from "node:child_process";
import fs from "node:fs";
import http from "node:http";
import path from "node:path";
import type { Logger } from "../logger.ts";
import { Semaphore } from "../lib/concurrency.ts";
import { freeLoopbackPort } from "../lib/free-port.ts";
import type { RouterHealth } from "../health/types.ts";
import { adminOnlyConfig } from "./caddy-config.ts";
import { adminListenOf, decideCaddyStart, listenPortOf, parseCaddyRecord, type CaddyRecord } from "./caddy-adopt.ts";

/** Where Debian's package puts the binary; CI installs it with `apt-get install -y caddy`. */
export const DEFAULT_CADDY_BIN = "/usr/bin/caddy";

export interface CaddyProcessOptions {
  /** Caddy's own directory (storage, config, pid file); created if missing. */
  dir: string;
  log: Logger;
  /** Loopback admin port; a free one is picked when absent (an adopted Caddy keeps its own). */
  adminPort?: number;
  caddyBin?: string;
  /** How long start() waits for the admin API to answer. */
  startTimeoutMs?: number;
  /** Leave Caddy serving at stop() (the control plane in production: the next start adopts it); tests stop it. */
  keepRunning?: boolean;
}

/** How start() got its Caddy: adopted a running one, launched one with the last loaded config, or an empty one. */
export type CaddyOrigin = "adopted" | "last" | "empty";

/** A dead Caddy is noticed within this (a /proc read per tick): nothing listens on the app ports until it is back. */
const WATCH_INTERVAL_MS = 100;
/** Every this many ticks, the admin API is asked too (a live but hung Caddy). */
const ADMIN_CHECK_TICKS = 5;
/** Admin checks in a row without an answer before a live but hung Caddy is replaced. */
const HUNG_CHECKS = 10;
/** caddy.log is started afresh at a launch once it is this big (Caddy's own lines; access lines go to the sink). */
const MAX_LOG_BYTES = 10 * 1024 * 1024;

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** True if `pid` runs (and is not a zombie). */
function processAlive(pid: number): boolean {
  try {
    return !fs.readFileSync(`/proc/${pid}/stat`, "utf8").includes(") Z ");
  } catch {
    return false;
  }
}

function readText(file: string): string | undefined {
  try {
    return fs.readFileSync(file, "utf8");
  } catch {
    return undefined;
  }
}

function writeAtomic(file: string, text: string): void {
  const tmp = `${file}.tmp`;
  fs.writeFileSync(tmp, text, { mode: 0o600 });
  fs.renameSync(tmp, file);
}

export class CaddyProcess {
  private address = "";
  private currentPid: number | undefined;
  private lastLoaded: string | undefined;
  private origin: CaddyOrigin = "empty";
  private watchTimer: NodeJS.Timeout | undefined;
  private unanswered = 0;
  private ticks = 0;
  /** Relaunches by the watcher (for platform health). */
  private restarts = 0;
  private launchedAt: Date | null = null;
  // One admin request or relaunch at a time, so a relaunch cannot overtake a newer load.
  private readonly adminLock = new Semaphore(1);
  private readonly log: Logger;
  private readonly dir: string;
  private readonly files: { pid: string; state: string; config: string; log: string };

  constructor(private readonly opts: CaddyProcessOptions) {
    this.log = opts.log.child({ component: "caddy" });
    this.dir = path.resolve(opts.dir);
    this.files = {
      pid: path.join(this.dir, "caddy.pid"),
      state: path.join(this.dir, "state.json"),
      config: path.join(this.dir, "caddy.json"),
      log: path.join(this.dir, "caddy.log"),
    };
  }

  /** "127.0.0.1:PORT" of the admin API (valid after start()). */
  get adminAddress(): string {
    return this.address;
  }

  /** Process id of the running Caddy, if any. */
  get pid(): number | undefined {
    return this.currentPid;
  }

  /** For platform health: process up, admin API answering (a relaunch starts with the last loaded config). */
  async health(): Promise<RouterHealth> {
    const pid = this.currentPid;
    const running = pid !== undefined && processAlive(pid);
    const answering = running && (await liveConfig(this.address)) !== undefined;
    return {
      running,
      answering,
      routesApplied: answering,
      process: { restarts: this.restarts, startedAt: this.launchedAt, lastExit: null },
    };
  }

  /** How start() got its Caddy (valid after start()). */
  get startedFrom(): CaddyOrigin {
    return this.origin;
  }

  /** The HTTP port the config Caddy serves (adopted or restored) listens on, if it has one. */
  get servingPort(): number | undefined {
    if (this.lastLoaded === undefined) return undefined;
    try {
      return listenPortOf(JSON.parse(this.lastLoaded));
    } catch {
      return undefined;
    }
  }

  /**
   * Adopts our running Caddy, or launches one with the last loaded config (else an admin-only one); resolves once
   * its admin API answers.
   */
  async start(): Promise<void> {
    const bin = this.opts.caddyBin ?? DEFAULT_CADDY_BIN;
    if (!fs.existsSync(bin))
      throw new Error(`router: caddy not found at ${bin}; install it with: apt-get install -y caddy`);
    for (const sub of ["", "data", "config", "home"])
      fs.mkdirSync(path.join(this.dir, sub), { recursive: true, mode: 0o700 });
    await this.adminLock.run(async () => {
      const record = parseCaddyRecord(readText(this.files.state));
      const ourPid = this.ourPid();
      const live = ourPid !== undefined && record ? await liveConfig(record.admin) : undefined;
      const last = readText(this.files.config);
      const lastAdmin = last === undefined ? undefined : adminListenOfText(last);
      const wanted = this.opts.adminPort;
      const decision = decideCaddyStart({
        record,
        ourProcessAlive: ourPid !== undefined,
        answeredAdmin: live === undefined ? undefined : adminListenOf(live.parsed),
        wantedAdminPort: wanted,
        // The last config carries its admin address: usable when no other admin port is asked for.
        haveLastConfig: lastAdmin !== undefined && (wanted === undefined || lastAdmin.endsWith(`:${wanted}`)),
      });
      if (decision.action === "adopt" && live) {
        this.address = decision.admin;
        this.currentPid = ourPid;
        this.lastLoaded = live.text;
        this.origin = "adopted";
        this.log.info({ pid: ourPid, admin: this.address }, "adopted the running caddy");
        return;
      }
      if (decision.action === "launch" && decision.stopOld) {
        this.log.warn({ pid: ourPid }, "stopping a caddy of ours that does not answer as recorded");
        await this.kill();
      }
      if (decision.action === "launch" && decision.from === "last" && last !== undefined) {
        try {
          await this.launch(last, lastAdmin as string);
          this.origin = "last";
          this.log.warn({ pid: this.currentPid }, "caddy was not running; started it with the config it last had");
          return;
        } catch (err) {
          this.log.warn({ err: err instanceof Error ? err.message : String(err) }, "the last caddy config did not start");
          await this.kill();
        }
      }
      const admin = `127.0.0.1:${wanted ?? (await freeLoopbackPort())}`;
      await this.launch(JSON.stringify(adminOnlyConfig(admin)), admin);
      this.origin = "empty";
    });
    this.watchTimer = setInterval(() => void this.watch(), WATCH_INTERVAL_MS);
    this.watchTimer.unref();
  }

  /** Loads a full JSON config through the admin API (replacing the running one gracefully) and keeps it on disk. */
  async load(configJson: string): Promise<void> {
    await this.adminLock.run(async () => {
      await this.post(configJson);
      this.lastLoaded = configJson;
      // What a relaunch starts with: the routes survive a Caddy crash or a reboot.
      writeAtomic(this.files.config, configJson);
    });
  }

  /** Stops the watcher and, unless keepRunning, Caddy (SIGTERM, then SIGKILL). */
  async stop(): Promise<void> {
    clearInterval(this.watchTimer);
    this.watchTimer = undefined;
    await this.adminLock.run(async () => {
      if (this.opts.keepRunning) {
        if (this.currentPid !== undefined) this.log.info({ pid: this.currentPid }, "leaving caddy serving");
        return;
      }
      await this.kill();
    });
  }

  /** The pid file's process, if it is a live caddy started with our config file (a reused pid is not ours). */
  private ourPid(): number | undefined {
    const pid = Number(readText(this.files.pid)?.trim());
    if (!Number.isInteger(pid) || pid <= 1 || !processAlive(pid)) return undefined;
    const argv = (readText(`/proc/${pid}/cmdline`) ?? "").split("\0");
    if (!argv.includes(this.files.config) || !path.basename(argv[0] ?? "").startsWith("caddy")) return undefined;
    return pid;
  }

  /** Starts Caddy in its own session with `configJson` (admin API at `admin`); resolves once the admin answers. */
  private async launch(configJson: string, admin: string): Promise<void> {
    writeAtomic(this.files.config, configJson);
    this.lastLoaded = configJson;
    try {
      if (fs.statSync(this.files.log).size > MAX_LOG_BYTES) fs.truncateSync(this.files.log, 0);
    } catch {
      // no log yet
    }
    const out = fs.openSync(this.files.log, "a", 0o600);
    let child;
    try {
      child = spawn(
        this.opts.caddyBin ?? DEFAULT_CADDY_BIN,
        ["run", "--config", this.files.config, "--pidfile", this.files.pid],
        {
          // Its own session: the control plane's exit, kill -9 or terminal signals do not reach it.
          detached: true,
          stdio: ["ignore", out, out],
          // A minimal environment: Caddy needs none of our secrets, and its storage must stay in our data dir
          // rather than the Debian service's /var/lib/caddy.
          env: {
            PATH: process.env.PATH ?? "/usr/sbin:/usr/bin:/sbin:/bin",
            HOME: path.join(this.dir, "home"),
            XDG_DATA_HOME: path.join(this.dir, "data"),
            XDG_CONFIG_HOME: path.join(this.dir, "config"),
            NODE_ENV: process.env.NODE_ENV, // required by Next's ProcessEnv typing; Caddy ignores it
          },
          cwd: this.dir,
        },
      );
    } finally {
      fs.closeSync(out);
    }
    child.on("error", (err) => this.log.error({ err }, "caddy failed to run"));
    child.unref();
    const pid = child.pid;
    this.currentPid = pid;
    this.address = admin;
    const deadline = Date.now() + (this.opts.startTimeoutMs ?? 10_000);
    while (Date.now() < deadline) {
      if (pid === undefined || !processAlive(pid)) break;
      // Up once the admin answers and the pid file names it (the next start finds it through that file).
      if (readText(this.files.pid)?.trim() === String(pid) && (await liveConfig(admin)) !== undefined) {
        writeAtomic(this.files.state, JSON.stringify({ admin } satisfies CaddyRecord));
        this.unanswered = 0;
        this.launchedAt = new Date();
        this.log.info({ pid, admin }, "caddy started");
        return;
      }
      await sleep(50);
    }
    const tail = (readText(this.files.log) ?? "").slice(-1000);
    throw new Error(`router: caddy (admin ${admin}) did not come up: ${tail}`);
  }

  /** SIGTERM to our Caddy (the pid we run, and the pid file's when it is ours), SIGKILL after 5 s. */
  private async kill(): Promise<void> {
    const pids = new Set([this.currentPid, this.ourPid()].filter((p): p is number => p !== undefined));
    for (const pid of pids) {
      try {
        process.kill(pid, "SIGTERM");
      } catch {
        // already gone
      }
    }
    for (let i = 0; i < 50 && [...pids].some(processAlive); i++) await sleep(100);
    for (const pid of pids) {
      try {
        if (processAlive(pid)) process.kill(pid, "SIGKILL");
      } catch {
        // already gone
      }
    }
    for (let i = 0; i < 20 && [...pids].some(processAlive); i++) await sleep(50);
    // The pid file stays: it names a dead process now, which ourPid() tells apart.
    this.currentPid = undefined;
  }

  private async post(configJson: string): Promise<void> {
    const res = await adminRequest(this.address, "POST", "/load", configJson, 15_000);
    if (res.status !== 200)
      throw new Error(`router: caddy rejected the config (${res.status}): ${res.body.slice(0, 500)}`);
  }

  /** Relaunches Caddy with the last loaded config when it died, or when its admin API stopped answering. */
  private async watch(): Promise<void> {
    if (this.adminLock.waiting > 0 || this.watchTimer === undefined) return;
    await this.adminLock.run(async () => {
      if (this.watchTimer === undefined) return;
      const pid = this.currentPid;
      if (pid !== undefined && processAlive(pid)) {
        if (++this.ticks % ADMIN_CHECK_TICKS !== 0) return;
        if ((await liveConfig(this.address)) !== undefined) {
          this.unanswered = 0;
          return;
        }
        if (++this.unanswered < HUNG_CHECKS) return;
      }
      this.unanswered = 0;
      this.log.warn({ pid }, "caddy is gone or not answering; starting it with the last config");
      try {
        await this.kill();
        await this.launch(this.lastLoaded ?? JSON.stringify(adminOnlyConfig(this.address)), this.address);
        this.restarts++;
        this.log.warn({ pid: this.currentPid }, "caddy restarted with the last config");
      } catch (err) {
        this.log.error({ err: err instanceof Error ? err.message : String(err) }, "restarting caddy failed; retrying");
      }
    });
  }
}

function adminListenOfText(text: string): string | undefined {
  try {
    return adminListenOf(JSON.parse(text));
  } catch {
    return undefined;
  }
}

/** The running config from the admin API (text and parsed), or undefined when it does not answer with one. */
async function liveConfig(admin: string): Promise<{ text: string; parsed: unknown } | undefined> {
  try {
    const res = await adminRequest(admin, "GET", "/config/", undefined, 1000);
    if (res.status !== 200) return undefined;
    return { text: res.body.trim(), parsed: JSON.parse(res.body) };
  } catch {
    return undefined;
  }
}

/**
 * One admin API call on a fresh connection. Caddy closes idle admin connections when a load replaces its config,
 * so a pooled keep-alive connection (fetch's default) fails the next call with "other side closed".
 */
function adminRequest(
  address: string,
  method: string,
  urlPath: string,
  body: string | undefined,
  timeoutMs: number,
): Promise<{ status: number; body: string }> {
  const [host, port] = address.split(":");
  return new Promise((resolve, reject) => {
    const req = http.request(
      {
        host,
        port: Number(port),
        method,
        path: urlPath,
        agent: false,
        timeout: timeoutMs,
        headers:
          body === undefined ? {} : { "Content-Type": "application/json", "Content-Length": Buffer.byteLength(body) },
      },
      (res) => {
        let text = "";
        res.setEncoding("utf8");
        res.on("data", (d: string) => (text += d));
        res.on("end", () => resolve({ status: res.statusCode ?? 0, body: text }));
        res.on("error", reject);
      },
    );
    req.on("timeout", () => req.destroy(new Error(`router: caddy admin ${method} ${urlPath} timed out`)));
    req.on("error", reject);
    req.end(body);
  });
}
