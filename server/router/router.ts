// The HTTP router: owns one Caddy process and keeps its routes equal to the latest RouteEntry[] it was given.
// Callers (the scheduler) may call apply() as often as they like; loads are serialized, intermediate states are
// skipped, and an unchanged config is never re-posted.
import { EventEmitter } from "node:events";
import fs from "node:fs";
import path from "node:path";
import type { Logger } from "../logger.ts";
import { freeLoopbackPort } from "../lib/free-port.ts";
import { AccessLogParser, type AccessLine } from "./access-log.ts";
import { buildCaddyConfig, type HttpsOptions, type RouteEntry } from "./caddy-config.ts";
import { CaddyProcess } from "./caddy-process.ts";
import { LogSink } from "./log-sink.ts";

export type { AccessLine } from "./access-log.ts";
export type { HttpsOptions, RouteEntry } from "./caddy-config.ts";

export interface RouterOptions {
  /** Address the public HTTP listener binds ("0.0.0.0", "127.0.0.1", "" for all). */
  listenHost: string;
  /** 0 picks a free port (tests). */
  listenPort: number;
  /** Caddy's storage, config and pid file live under `<dataDir>/caddy`. */
  dataDir: string;
  log: Logger;
  /** Loopback port for Caddy's admin API; a free one when absent. */
  adminPort?: number;
  /** Request body limit in bytes (default 100 MiB). */
  maxBodyBytes?: number;
  caddyBin?: string;
  /** Name the answering instance in access lines (costs throughput; see caddy-config.ts). */
  logUpstreams?: boolean;
  /** TLS listener for the hosts that qualify (caddy-config.ts wantsTls); plain HTTP only when absent. */
  https?: HttpsOptions;
}

interface RouterEvents {
  access: [line: AccessLine];
}

export class Router extends EventEmitter<RouterEvents> {
  private readonly log: Logger;
  private readonly parser = new AccessLogParser();
  private readonly sink: LogSink;
  private caddy: CaddyProcess | undefined;
  private listenPort = 0;
  private accessAddress = "";
  private desired: { json: string; hosts: Map<string, string> } | undefined;
  private loadedJson: string | undefined;
  private loading: Promise<void> | undefined;

  constructor(private readonly opts: RouterOptions) {
    super();
    this.log = opts.log.child({ component: "router" });
    this.sink = new LogSink((line) => this.onLogLine(line));
  }

  /** The public HTTP port (valid after start()). */
  get port(): number {
    return this.listenPort;
  }

  /** The TLS listener's port, or 0 when HTTPS is off (0 means off here, so unlike the HTTP port it is never picked). */
  get httpsPort(): number {
    return this.opts.https?.port ?? 0;
  }

  /** Starts Caddy and serves an empty route table (every host answers 404) until the first apply(). */
  async start(): Promise<void> {
    const dir = path.join(this.opts.dataDir, "caddy");
    fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
    this.listenPort = this.opts.listenPort || (await freeLoopbackPort());
    this.accessAddress = await this.sink.start();
    this.caddy = new CaddyProcess({
      dir,
      log: this.opts.log,
      adminPort: this.opts.adminPort,
      caddyBin: this.opts.caddyBin,
    });
    try {
      await this.caddy.start();
      await this.apply([]);
    } catch (err) {
      await this.stop();
      throw err;
    }
    this.log.info(
      {
        port: this.listenPort,
        httpsPort: this.httpsPort,
        issuer: this.opts.https?.issuer,
        admin: this.caddy.adminAddress,
      },
      "router started",
    );
  }

  /**
   * Makes Caddy route exactly `routes`. Rejects on invalid input (nothing is loaded then) or if Caddy refuses.
   * Concurrent calls share one load loop: each resolves once a config at least as new as its own is live.
   */
  async apply(routes: RouteEntry[]): Promise<void> {
    const caddy = this.caddy;
    if (!caddy) throw new Error("router: apply() before start()");
    const config = buildCaddyConfig({
      listen: { host: this.opts.listenHost, port: this.listenPort },
      adminAddress: caddy.adminAddress,
      routes,
      limits: { maxBodyBytes: this.opts.maxBodyBytes },
      accessLog: { address: this.accessAddress, upstreams: this.opts.logUpstreams ?? false },
      https: this.opts.https,
    });
    const hosts = new Map<string, string>();
    for (const r of routes) for (const h of r.hosts) hosts.set(h, r.app);
    this.desired = { json: JSON.stringify(config), hosts };
    if (this.loading) return this.loading;
    if (this.desired.json === this.loadedJson) return;
    this.loading = this.drain(caddy);
    return this.loading;
  }

  /** Stops Caddy and the access-log listener; safe to call twice. */
  async stop(): Promise<void> {
    const caddy = this.caddy;
    this.caddy = undefined;
    await caddy?.stop();
    await this.sink.stop();
    this.loadedJson = undefined;
  }

  private async drain(caddy: CaddyProcess): Promise<void> {
    try {
      // Latest wins: whatever apply() stored while a load was in flight is loaded next; older ones are skipped.
      while (this.desired && this.desired.json !== this.loadedJson) {
        const { json, hosts } = this.desired;
        try {
          await caddy.load(json);
        } catch (err) {
          // A failed load that a newer apply() already superseded is not worth failing the newer caller for.
          if (this.desired.json !== json) continue;
          throw err;
        }
        this.loadedJson = json;
        this.parser.setHosts(hosts);
      }
    } finally {
      // Cleared in the same tick as the loop's last check, so no apply() can slip between them unseen.
      this.loading = undefined;
    }
  }

  private onLogLine(line: string): void {
    const parsed = this.parser.parse(line);
    if (!parsed) return;
    if ("access" in parsed) {
      this.emit("access", parsed.access);
      return;
    }
    const { level, logger, msg } = parsed.other;
    const fields = { caddyLogger: logger, caddy: parsed.other.raw };
    if (level === "error" || level === "fatal" || level === "panic") this.log.error(fields, msg);
    else if (level === "warn") this.log.warn(fields, msg);
    else this.log.debug(fields, msg);
  }
}
