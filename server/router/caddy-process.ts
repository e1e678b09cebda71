// Runs our own Caddy (not Debian's systemd unit) under the supervisor and talks to it only through its loopback
// admin API. Caddy forgets its config when it restarts (persist is off), so the last loaded config is re-applied
// whenever the supervisor brings up a new process.
import fs from "node:fs";
import http from "node:http";
import path from "node:path";
import type { Logger } from "../logger.ts";
import { Semaphore } from "../lib/concurrency.ts";
import { freeLoopbackPort } from "../lib/free-port.ts";
import { Supervisor } from "../lib/supervisor.ts";
import { processInfo, type RouterHealth } from "../health/types.ts";
import { adminOnlyConfig } from "./caddy-config.ts";

/** Where Debian's package puts the binary; CI installs it with `apt-get install -y caddy`. */
export const DEFAULT_CADDY_BIN = "/usr/bin/caddy";

export interface CaddyProcessOptions {
  /** Caddy's own directory (storage, config, pid file); created if missing. */
  dir: string;
  log: Logger;
  /** Loopback admin port; a free one is picked when absent. */
  adminPort?: number;
  caddyBin?: string;
  /** How long start() waits for the admin API to answer. */
  startTimeoutMs?: number;
}

const WATCH_INTERVAL_MS = 500;

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

export class CaddyProcess {
  private supervisor: Supervisor | undefined;
  private address = "";
  private lastLoaded: string | undefined;
  private appliedPid: number | undefined;
  private watchTimer: NodeJS.Timeout | undefined;
  // One admin request at a time, so a re-apply after a restart cannot overtake a newer load.
  private readonly adminLock = new Semaphore(1);
  private readonly log: Logger;

  constructor(private readonly opts: CaddyProcessOptions) {
    this.log = opts.log.child({ component: "caddy" });
  }

  /** "127.0.0.1:PORT" of the admin API (valid after start()). */
  get adminAddress(): string {
    return this.address;
  }

  /** Process id of the running Caddy, if any. */
  get pid(): number | undefined {
    return this.supervisor?.pid;
  }

  /** For platform health: process up, admin API answering, last config re-applied to the running process. */
  async health(): Promise<RouterHealth> {
    const state = this.supervisor?.state();
    const pid = this.supervisor?.pid;
    return {
      running: pid !== undefined,
      answering: pid !== undefined && (await this.adminAnswers()),
      routesApplied: pid !== undefined && pid === this.appliedPid,
      process: state ? processInfo(state) : { restarts: 0, startedAt: null, lastExit: null },
    };
  }

  /** Starts Caddy with an admin-only config and resolves once its admin API answers. */
  async start(): Promise<void> {
    const bin = this.opts.caddyBin ?? DEFAULT_CADDY_BIN;
    if (!fs.existsSync(bin))
      throw new Error(`router: caddy not found at ${bin}; install it with: apt-get install -y caddy`);
    const dir = path.resolve(this.opts.dir);
    for (const sub of ["data", "config", "home"]) fs.mkdirSync(path.join(dir, sub), { recursive: true, mode: 0o700 });
    const pidFile = path.join(dir, "caddy.pid");
    const configFile = path.join(dir, "initial.json");
    await stopStaleCaddy(pidFile, configFile, this.log);

    this.address = `127.0.0.1:${this.opts.adminPort ?? (await freeLoopbackPort())}`;
    // Written once per start; every later change goes through POST /load.
    fs.writeFileSync(configFile, JSON.stringify(adminOnlyConfig(this.address)), { mode: 0o600 });
    this.supervisor = new Supervisor(
      {
        name: "caddy",
        command: bin,
        args: ["run", "--config", configFile, "--pidfile", pidFile],
        // A minimal environment: Caddy needs none of our secrets, and its storage must stay in our data dir
        // rather than the Debian service's /var/lib/caddy.
        env: {
          PATH: process.env.PATH ?? "/usr/sbin:/usr/bin:/sbin:/bin",
          HOME: path.join(dir, "home"),
          XDG_DATA_HOME: path.join(dir, "data"),
          XDG_CONFIG_HOME: path.join(dir, "config"),
          NODE_ENV: process.env.NODE_ENV, // required by Next's ProcessEnv typing; Caddy ignores it
        },
        cwd: dir,
      },
      this.opts.log, // the supervisor adds component: "caddy" itself
    );
    this.supervisor.start();
    try {
      await this.waitForAdmin(this.opts.startTimeoutMs ?? 10_000);
    } catch (err) {
      await this.stop();
      throw err;
    }
    this.appliedPid = this.supervisor.pid;
    this.watchTimer = setInterval(() => void this.reapplyAfterRestart(), WATCH_INTERVAL_MS);
    this.watchTimer.unref();
  }

  /** Loads a full JSON config through the admin API (replacing the running one) and remembers it for restarts. */
  async load(configJson: string): Promise<void> {
    await this.adminLock.run(async () => {
      await this.post(configJson);
      this.lastLoaded = configJson;
      this.appliedPid = this.supervisor?.pid;
    });
  }

  /** Stops Caddy (SIGTERM, then SIGKILL) and the restart watcher. */
  async stop(): Promise<void> {
    clearInterval(this.watchTimer);
    this.watchTimer = undefined;
    await this.supervisor?.stop();
    this.supervisor = undefined;
  }

  private async post(configJson: string): Promise<void> {
    const res = await adminRequest(this.address, "POST", "/load", configJson, 15_000);
    if (res.status !== 200)
      throw new Error(`router: caddy rejected the config (${res.status}): ${res.body.slice(0, 500)}`);
  }

  private async adminAnswers(): Promise<boolean> {
    try {
      return (await adminRequest(this.address, "GET", "/config/", undefined, 1000)).status === 200;
    } catch {
      return false;
    }
  }

  private async waitForAdmin(timeoutMs: number): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (Date.now() < deadline) {
      if (await this.adminAnswers()) return;
      await sleep(50);
    }
    throw new Error(`router: caddy admin API at ${this.address} did not answer within ${timeoutMs} ms`);
  }

  private async reapplyAfterRestart(): Promise<void> {
    const pid = this.supervisor?.pid;
    if (pid === undefined || pid === this.appliedPid || this.adminLock.waiting > 0) return;
    await this.adminLock.run(async () => {
      if (this.supervisor?.pid !== pid || pid === this.appliedPid) return;
      if (!(await this.adminAnswers())) return; // not up yet; the next tick tries again
      try {
        if (this.lastLoaded !== undefined) await this.post(this.lastLoaded);
        this.appliedPid = pid;
        this.log.warn({ pid }, "caddy restarted; re-applied the last config");
      } catch (err) {
        this.log.error({ err, pid }, "caddy restarted but re-applying the config failed; retrying");
      }
    });
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

/** Stops a Caddy left behind by a previous run that died without stop() (it would hold our ports). */
async function stopStaleCaddy(pidFile: string, configFile: string, log: Logger): Promise<void> {
  let pid: number;
  try {
    pid = Number(fs.readFileSync(pidFile, "utf8").trim());
  } catch {
    return;
  }
  if (!Number.isInteger(pid) || pid <= 1) return;
  let cmdline: string[];
  try {
    cmdline = fs.readFileSync(`/proc/${pid}/cmdline`, "utf8").split("\0");
  } catch {
    return; // not running
  }
  // Only a caddy started with our own config file is ours to stop; a reused pid is left alone.
  if (!cmdline.includes(configFile) || !path.basename(cmdline[0] ?? "").startsWith("caddy")) return;
  log.warn({ pid }, "stopping a caddy left over from a previous run");
  process.kill(pid, "SIGTERM");
  for (let i = 0; i < 50 && fs.existsSync(`/proc/${pid}`); i++) await sleep(100);
  if (fs.existsSync(`/proc/${pid}`)) process.kill(pid, "SIGKILL");
}
