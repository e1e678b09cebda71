// The HTTP router: owns one Caddy process (which may outlive us, see caddy-process.ts) and keeps its routes equal to
// the latest RouteEntry[] it was given.
// Callers (the scheduler) may call apply() as often as they like; loads are serialized, intermediate states are
// skipped, and an unchanged config is never re-posted.
import { EventEmitter } from "node:events";
import fs from "node:fs";
import path from "node:path";
import type { Logger } from "../logger.ts";
import { freeLoopbackPort } from "../lib/free-port.ts";
import { AccessLogParser, type AccessLine } from "./access-log.ts";
import { AskServer, type AskDecision } from "./ask-server.ts";
import { buildCaddyConfig, tlsHostsOf, type HttpsOptions, type RouteEntry } from "./caddy-config.ts";
import { CaddyProcess } from "./caddy-process.ts";
import { LogSink } from "./log-sink.ts";
import type { RouterHealth } from "../health/types.ts";
import { enableRequestMigration } from "./request-migration.ts";

export type { AccessLine } from "./access-log.ts";
export type { AskDecision } from "./ask-server.ts";
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
  /** How long a host that got a yes from the ask endpoint is refused (default ASK_COOLDOWN_MS; tests use 0). */
  tlsAskCooldownMs?: number;
  /** Leave Caddy serving at stop() (production: the next start adopts it with its routes); tests stop it. */
  keepRunning?: boolean;
}

interface RouterEvents {
  access: [line: AccessLine];
  /** Caddy (or anything local) asked whether a host may get a certificate now (HTTPS only). */
  tlsAsk: [decision: AskDecision];
}

export class Router extends EventEmitter<RouterEvents> {
  private readonly log: Logger;
  private readonly parser = new AccessLogParser();
  private readonly sink: LogSink;
  /** HTTPS only: the on-demand TLS ask endpoint (see tlsApps in caddy-config.ts). */
  private readonly ask: AskServer | undefined;
  private caddy: CaddyProcess | undefined;
  private listenPort = 0;
  private accessAddress = "";
  private askUrl: string | undefined;
  private desired: { json: string; hosts: Map<string, string>; tlsHosts: string[] } | undefined;
  private loadedJson: string | undefined;
  /** TLS hosts of the config Caddy has loaded. */
  private loadedTlsHosts: string[] = [];
  private loading: Promise<void> | undefined;

  constructor(private readonly opts: RouterOptions) {
    super();
    this.log = opts.log.child({ component: "router" });
    this.sink = new LogSink((line) => this.onLogLine(line));
    if (opts.https) this.ask = new AskServer((decision) => this.onAsk(decision), opts.tlsAskCooldownMs);
  }

  /** The public HTTP port (valid after start()). */
  get port(): number {
    return this.listenPort;
  }

  /** The TLS listener's port, or 0 when HTTPS is off (0 means off here, so unlike the HTTP port it is never picked). */
  get httpsPort(): number {
    return this.opts.https?.port ?? 0;
  }

  /** For platform health (server/health/). */
  async health(): Promise<RouterHealth> {
    if (this.caddy) return this.caddy.health();
    return { running: false, answering: false, routesApplied: false, process: { restarts: 0, startedAt: null, lastExit: null } };
  }

  /**
   * Adopts the Caddy a previous control plane left serving (its routes stay live until the first apply() replaces
   * them gracefully), else starts one with the config it last had, else an empty route table (every host answers 404
   * until the first apply()). Never loads an empty table over routes that are being served.
   */
  async start(): Promise<void> {
    const dir = path.join(this.opts.dataDir, "caddy");
    fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
    // A Unix socket in a directory only we can enter: no other local process can write access lines (log-sink.ts).
    // The same path every start, so an adopted Caddy's access writer finds it again.
    this.accessAddress = await this.sink.start(path.join(dir, "sink"));
    this.caddy = new CaddyProcess({
      dir,
      log: this.opts.log,
      adminPort: this.opts.adminPort,
      caddyBin: this.opts.caddyBin,
      keepRunning: this.opts.keepRunning,
    });
    try {
      await enableRequestMigration(this.log);
      this.askUrl = await this.ask?.start();
      await this.caddy.start();
      const serving = this.caddy.startedFrom === "empty" ? undefined : this.caddy.servingPort;
      this.listenPort = this.opts.listenPort || serving || (await freeLoopbackPort());
      if (this.caddy.startedFrom === "empty") await this.apply([]);
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
        caddy: this.caddy.startedFrom,
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
      tlsAsk: this.askUrl,
    });
    const hosts = new Map<string, string>();
    for (const r of routes) for (const h of r.hosts) hosts.set(h, r.app);
    const tlsHosts = this.opts.https ? tlsHostsOf(routes) : [];
    this.desired = { json: JSON.stringify(config), hosts, tlsHosts };
    // A host leaves the ask server's set now, before Caddy has the config without it; it joins once that is live.
    this.allowCertificates();
    if (this.loading) return this.loading;
    if (this.desired.json === this.loadedJson) return;
    this.loading = this.drain(caddy);
    return this.loading;
  }

  /** Stops Caddy (unless keepRunning), the access-log listener and the ask server; safe to call twice. */
  async stop(): Promise<void> {
    const caddy = this.caddy;
    this.caddy = undefined;
    await caddy?.stop();
    await this.sink.stop();
    await this.ask?.stop();
    this.loadedJson = undefined;
    this.loadedTlsHosts = [];
    this.ask?.setHosts([]);
  }

  private async drain(caddy: CaddyProcess): Promise<void> {
    try {
      // Latest wins: whatever apply() stored while a load was in flight is loaded next; older ones are skipped.
      while (this.desired && this.desired.json !== this.loadedJson) {
        const { json, hosts, tlsHosts } = this.desired;
        try {
          await caddy.load(json);
        } catch (err) {
          // A failed load that a newer apply() already superseded is not worth failing the newer caller for.
          if (this.desired.json !== json) continue;
          throw err;
        }
        this.loadedJson = json;
        this.parser.setHosts(hosts);
        this.loadedTlsHosts = tlsHosts;
        this.allowCertificates();
      }
    } finally {
      // Cleared in the same tick as the loop's last check, so no apply() can slip between them unseen.
      this.loading = undefined;
    }
  }

  /** Certificates only for hosts in both the live config and the latest apply(): removals count at once. */
  private allowCertificates(): void {
    const latest = new Set(this.desired?.tlsHosts ?? []);
    this.ask?.setHosts(this.loadedTlsHosts.filter((h) => latest.has(h)));
  }

  private onAsk(decision: AskDecision): void {
    // Caddy asks before each issuance or renewal at a handshake, not per request; a refusal for a host Caddy still
    // lists means it was just removed. Anything local can ask too, so refusals stay at debug.
    if (decision.allowed) this.log.info({ host: decision.domain }, "on-demand certificate allowed");
    else this.log.debug({ domain: decision.domain }, "on-demand certificate refused (host not routed with TLS)");
    this.emit("tlsAsk", decision);
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
