// The HTTP router (HAProxy is Berth's only data plane): start, apply, stop, port, "access" events. A route change is a
// few Runtime API commands instead of a configuration load, so no connection of any client is closed by it. The HAProxy process outlives the control plane (keepRunning) and is adopted at the next start.
import { EventEmitter } from "node:events";
import fs from "node:fs";
import type { Logger } from "../logger.ts";
import { Semaphore } from "../lib/concurrency.ts";
import { freeLoopbackPort } from "../lib/free-port.ts";
import { assertHttps, DEFAULT_MAX_BODY_BYTES, tlsHostsOf, type HttpsOptions, type RouteEntry } from "./routes.ts";
import { AcmeIssuer, CertStore, InternalIssuer } from "./haproxy-certs.ts";
import { AccessStream, parseHaproxyAccess, type AccessLine } from "./haproxy-access.ts";
import { ACCESS_TAG, CONFIG_SIGNATURE, renderHaproxyConfig, type TlsConfigInput } from "./haproxy-config.ts";
import {
  MIN_POOL,
  commandSucceeded,
  emptyState,
  parseRuntimeState,
  planRoutes,
  poolFor,
  renderHostMap,
  runtimeCommands,
  validateRoutes,
  type RuntimeState,
} from "./haproxy-slots.ts";
import type { RouterHealth } from "../health/types.ts";
import { HaproxyWatchdog } from "./haproxy-watchdog.ts";
import { HaproxyProcess, haproxyPaths, runtimeApi, workerPid, type HaproxyPaths } from "./haproxy-process.ts";
import { HaproxyTls, type CertificateEvent } from "./haproxy-tls.ts";

export type { CertificateEvent } from "./haproxy-tls.ts";
export type { AccessLine } from "./haproxy-access.ts";
export type { HttpsOptions, RouteEntry } from "./routes.ts";

/** Commands per Runtime API connection. */
const BATCH = 500;
const IPV4_RE =
  /^(?:25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])(?:\.(?:25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])){3}$/;

export interface HaproxyRouterOptions {
  /** Address the public HTTP listener binds ("0.0.0.0", "127.0.0.1", "" for all). */
  listenHost: string;
  /** 0 picks a free port (tests), or keeps the port of an adopted HAProxy. */
  listenPort: number;
  /** HAProxy's configuration, map and pid file live under `<dataDir>/haproxy`. */
  dataDir: string;
  log: Logger;
  /** Request body limit in bytes (default 100 MiB); enforced on the declared Content-Length. */
  maxBodyBytes?: number;
  haproxyBin?: string;
  /**
   * HAProxy threads (nbthread); absent: HAProxy's default of one per core. One thread was cheaper per request on this
   * 2-core machine (docs/benchmarks.md) but is not the default: a reload under load reset a new connection in one CI
   * run with it, not yet explained (docs/router.md).
   */
  threads?: number;
  /** Leave HAProxy serving at stop() (the control plane in production); tests stop it. */
  keepRunning?: boolean;
  /**
   * A TLS listener for the hosts that qualify (routes.ts wantsTls) with certificates from `issuer`, obtained by
   * the control plane (haproxy-tls.ts); plain HTTP only when absent.
   */
  https?: HttpsOptions;
  /** PEM of extra CAs to trust for the ACME directory's HTTPS (a test CA such as pebble's); tests only. */
  acmeTrustedRoots?: string;
  /** Renew certificates this long before they end (default 30 days). */
  tlsRenewBeforeMs?: number;
}

interface RouterEvents {
  access: [line: AccessLine];
  /** A certificate was issued, loaded into HAProxy or removed from it (HTTPS only). */
  certificate: [event: CertificateEvent];
  /** Obtaining or loading a host's certificate failed; it is retried with a backoff (HTTPS only). */
  certificateError: [event: { host: string; error: string }];
}

export class HaproxyRouter extends EventEmitter<RouterEvents> {
  private readonly log: Logger;
  private readonly paths: HaproxyPaths;
  private readonly proc: HaproxyProcess;
  private readonly lock = new Semaphore(1);
  private readonly maxBodyBytes: number;
  private readonly threads: number | undefined;
  /** HTTPS only: the certificates HAProxy holds and the ones it should. */
  private readonly tls: HaproxyTls | undefined;
  private readonly tlsFiles: TlsConfigInput | undefined;
  private stream: AccessStream | undefined;
  private listenPort = 0;
  private live: RuntimeState = emptyState(MIN_POOL);
  /** The state the configuration and map files describe (what a restarted HAProxy holds). */
  private fileState: RuntimeState = this.live;
  private liveKey: string | undefined;
  private desired: { key: string; routes: RouteEntry[] } | undefined;
  private loading: Promise<void> | undefined;
  private started = false;
  /** Runtime API batches and reloads sent (tests check that unchanged routes send nothing). */
  updates = 0;
  reloads = 0;
  private readonly watchdog: HaproxyWatchdog;

  constructor(private readonly opts: HaproxyRouterOptions) {
    super();
    this.log = opts.log.child({ component: "router" });
    this.paths = haproxyPaths(opts.dataDir);
    this.proc = new HaproxyProcess({ paths: this.paths, log: opts.log, bin: opts.haproxyBin });
    this.maxBodyBytes = opts.maxBodyBytes ?? DEFAULT_MAX_BODY_BYTES;
    this.threads = opts.threads || undefined;
    this.watchdog = new HaproxyWatchdog({
      proc: this.proc,
      admin: this.paths.admin,
      lock: this.lock,
      active: () => this.started,
      relaunch: () => this.relaunch(),
      log: this.log,
    });
    const host = opts.listenHost;
    if (host !== "" && host !== "localhost" && !IPV4_RE.test(host))
      throw new Error(`router: invalid listen host ${JSON.stringify(host)}`);
    if (this.threads !== undefined && (!Number.isInteger(this.threads) || this.threads < 1 || this.threads > 64))
      throw new Error(`router: invalid threads ${this.threads}`);
    if (!Number.isSafeInteger(this.maxBodyBytes) || this.maxBodyBytes < 1)
      throw new Error(`router: invalid maxBodyBytes ${this.maxBodyBytes}`);
    const https = opts.https;
    if (https) {
      assertHttps(https, opts.listenPort);
      const dir = this.paths.dir;
      this.tlsFiles = {
        port: https.port,
        crtList: `${dir}/crt-list.txt`,
        certMap: `${dir}/certs.map`,
        acmeMap: `${dir}/acme.map`,
      };
      const store = new CertStore(`${dir}/tls`);
      this.tls = new HaproxyTls({
        store,
        files: this.tlsFiles,
        issuer: (challenges) =>
          https.issuer === "internal"
            ? new InternalIssuer(store)
            : new AcmeIssuer(store, challenges, {
                directoryUrl: https.acmeCa,
                email: https.acmeEmail,
                trustedRoots: opts.acmeTrustedRoots,
              }),
        locked: (task) => this.locked(task),
        runtime: (commands) => runtimeApi(this.paths.admin, commands),
        log: this.log,
        renewBeforeMs: opts.tlsRenewBeforeMs,
        onCertificate: (event) => this.emit("certificate", event),
        onError: (host, error) => this.emit("certificateError", { host, error }),
      });
    }
  }

  /** The public HTTP port (valid after start()). */
  get port(): number {
    return this.listenPort;
  }

  /** For platform health: master running, Runtime API answering (a restarted HAProxy reads the latest routes' files). */
  async health(): Promise<RouterHealth> {
    const running = this.started && this.proc.masterPid() !== undefined;
    const answering = running && (await workerPid(this.paths.admin)) !== undefined;
    return { running, answering, routesApplied: answering, process: { ...this.watchdog.info } };
  }

  /** The TLS listener's port, or 0 when HTTPS is off. */
  get httpsPort(): number {
    return this.opts.https?.port ?? 0;
  }

  /** Where the internal issuer's CA certificate is (clients that should trust it need it); undefined otherwise. */
  get internalCaPath(): string | undefined {
    return this.opts.https?.issuer === "internal" ? `${this.paths.dir}/tls/ca/root.crt` : undefined;
  }

  /** Resolves once no certificate work is running (tests). */
  async certificatesIdle(): Promise<void> {
    await this.tls?.idle();
  }

  /**
   * Adopts a running HAProxy of this data dir (keeping its routes); else starts it from the files it last wrote (the
   * routes it had when it crashed or was stopped); else launches one with an empty route table.
   */
  async start(): Promise<void> {
    await this.lock.run(async () => {
      this.tls?.prepareFiles();
      let adopted = await this.proc.running();
      if (!adopted && readText(this.paths.config)?.startsWith(CONFIG_SIGNATURE)) {
        try {
          await this.proc.launch();
          adopted = true;
          this.log.warn("haproxy was not running; started it with the routes it last had");
        } catch (err) {
          this.log.warn(
            { err: err instanceof Error ? err.message : String(err) },
            "the last written haproxy config did not start; starting empty",
          );
        }
      }
      this.listenPort =
        this.opts.listenPort || (adopted ? boundPort(this.paths.config) : 0) || (await freeLoopbackPort());
      if (adopted) {
        this.live = await this.readRuntime();
        // What it holds is what a reload below (and every later one) starts from.
        await this.tls?.readBack();
        const config = this.render(this.live);
        // Another port or body limit than the running one: the same routes, reloaded seamlessly.
        this.fileState = this.live;
        if (readText(this.paths.config) !== config) {
          this.proc.writeFiles(config, renderHostMap(this.live));
          await this.proc.reload();
          this.reloads++;
        }
        this.log.info({ port: this.listenPort, pid: this.proc.masterPid() }, "adopted the running haproxy");
      } else {
        this.live = emptyState(MIN_POOL);
        this.fileState = this.live;
        this.tls?.resetFiles();
        this.proc.writeFiles(this.render(this.live), renderHostMap(this.live));
        await this.proc.launch();
      }
      this.liveKey = undefined;
      this.stream = new AccessStream(this.paths.admin, (line) => this.onLogLine(line), this.log);
      await this.stream.start(!adopted);
      this.started = true;
      this.tls?.start();
    });
    this.watchdog.start();
    this.log.info({ port: this.listenPort, admin: this.paths.admin }, "router started (haproxy)");
  }

  /**
   * Makes HAProxy route exactly `routes`. Rejects on invalid input (nothing changes then) or if HAProxy refuses.
   * Concurrent calls share one update loop: each resolves once a state at least as new as its own is live.
   */
  async apply(routes: RouteEntry[]): Promise<void> {
    if (!this.started) throw new Error("router: apply() before start()");
    validateRoutes(routes);
    const key = JSON.stringify(routes);
    this.desired = { key, routes };
    if (this.loading) return this.loading;
    if (key === this.liveKey) return;
    this.loading = this.drain();
    return this.loading;
  }

  /** Stops following access lines and, unless keepRunning, stops HAProxy; safe to call twice. */
  async stop(): Promise<void> {
    await this.detach();
    if (!this.opts.keepRunning) await this.lock.run(() => this.proc.stop());
  }

  /** Lets go of HAProxy without stopping it (it keeps serving the live routes until a router adopts it). */
  async detach(): Promise<void> {
    this.watchdog.stop();
    this.started = false;
    this.tls?.stop();
    this.stream?.stop();
    this.stream = undefined;
    // An update or restart in progress finishes first.
    await this.lock.run(async () => {});
    this.liveKey = undefined;
  }

  private async drain(): Promise<void> {
    try {
      while (this.desired && this.desired.key !== this.liveKey) {
        const { key, routes } = this.desired;
        try {
          await this.lock.run(() => this.update(routes));
        } catch (err) {
          if (this.desired.key !== key) continue;
          throw err;
        }
        this.liveKey = key;
        // Certificates only for hosts that are routed now and qualify (wantsTls); a removed host's certificate goes.
        this.tls?.setHosts(tlsHostsOf(routes));
      }
    } finally {
      this.loading = undefined;
    }
  }

  /** One step from the live state to `routes`: Runtime API commands, or a reload when the pool must grow. */
  private async update(routes: RouteEntry[]): Promise<void> {
    const pool = poolFor(routes, this.live.pool);
    const next = planRoutes(this.live, routes, pool);
    // The files always describe the newest state, so a restart or reload starts with the latest routes.
    this.proc.writeFiles(this.render(next), renderHostMap(next));
    this.fileState = next;
    if (pool !== this.live.pool) {
      await this.proc.reload();
      this.reloads++;
      this.live = next;
      this.stream?.reconnect();
      return;
    }
    const commands = runtimeCommands(this.live, next, this.paths.map);
    if (commands.length === 0) return;
    try {
      for (let i = 0; i < commands.length; i += BATCH) {
        const batch = commands.slice(i, i + BATCH);
        this.updates++;
        const answers = await runtimeApi(this.paths.admin, batch);
        batch.forEach((c, k) => {
          if (!commandSucceeded(c, answers[k] ?? "")) throw new Error(`router: haproxy refused "${c}": ${answers[k]}`);
        });
      }
      this.live = next;
    } catch (err) {
      // Part of the batch may have been applied: what HAProxy holds now is the state the next attempt starts from.
      this.live = await this.readRuntime().catch(() => this.live);
      this.liveKey = undefined;
      throw err;
    }
  }

  /** Runs `task` under the router's lock, or rejects once the router stopped (certificate work in flight). */
  private async locked<T>(task: () => Promise<T>): Promise<T> {
    if (!this.started) throw new Error("router: stopped");
    return this.lock.run(async () => {
      if (!this.started) throw new Error("router: stopped");
      return task();
    });
  }

  private render(state: RuntimeState): string {
    return renderHaproxyConfig(
      {
        listen: { host: this.opts.listenHost, port: this.listenPort },
        adminSocket: this.paths.admin,
        mapFile: this.paths.map,
        maxBodyBytes: this.maxBodyBytes,
        threads: this.threads,
        tls: this.tlsFiles,
      },
      state,
    );
  }

  private async readRuntime(): Promise<RuntimeState> {
    const [servers, map] = await runtimeApi(this.paths.admin, ["show servers state", `show map ${this.paths.map}`]);
    const state = parseRuntimeState(servers ?? "", map ?? "");
    return state.pool.backends > 0 ? state : emptyState(MIN_POOL);
  }

  /** The watchdog's restart: HAProxy again from the written files, i.e. with the latest routes and certificates. */
  private async relaunch(): Promise<void> {
    await this.proc.stop();
    await this.proc.launch();
    this.live = this.fileState;
    await this.tls?.readBack();
  }

  private onLogLine(line: string): void {
    const access = parseHaproxyAccess(line);
    if (access) {
      this.emit("access", access);
      return;
    }
    if (!line.startsWith(ACCESS_TAG) && line.trim()) this.log.info({ haproxy: line.slice(0, 500) }, "haproxy event");
  }
}

function readText(file: string): string | undefined {
  try {
    return fs.readFileSync(file, "utf8");
  } catch {
    return undefined;
  }
}

/** The port of the running configuration's `bind` line (adoption without a configured port). */
function boundPort(configFile: string): number {
  const m = /^\s*bind \S*:([0-9]{1,5})\s*$/m.exec(readText(configFile) ?? "");
  return m ? Number(m[1]) : 0;
}
