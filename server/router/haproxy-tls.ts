// HTTPS for the HAProxy data plane: which hosts get a certificate, when it is obtained and renewed, and how it gets
// into the running HAProxy without a reload. HAProxy holds certificates in a crt-list (one "CERT.pem HOST" line per
// host) behind the TLS bind; this class changes it over the Runtime API (`new ssl cert`, `set ssl cert`,
// `commit ssl cert`, `add ssl crt-list`, `del ...`) and keeps the crt-list file, the map of hosts with a certificate
// (their plain HTTP is redirected) and the map of ACME HTTP-01 answers equal to what HAProxy holds, so a restart or
// reload starts with the same certificates.
import fs from "node:fs";
import path from "node:path";
import type { Logger } from "../logger.ts";
import { CertStore, certSerial, type ChallengeResponder, type Issuer, type StoredCert } from "./haproxy-certs.ts";
import type { TlsConfigInput } from "./haproxy-config.ts";

/** Renew this long before a certificate ends (Let's Encrypt's 90-day certificates: at 60 days). */
export const RENEW_BEFORE_MS = 30 * 24 * 3600_000;
/** A failed issuance for a host is retried after 5 min, then 10, 20, ... up to 6 h: at most 4 failed validations
 * per host in an hour, under Let's Encrypt's 5. */
const RETRY_MIN_MS = 5 * 60_000;
const RETRY_MAX_MS = 6 * 3600_000;
/** Passes run at least this often (renewals, retries) and never closer than the minimum unless hosts change. */
const PASS_MAX_MS = 12 * 3600_000;
const PASS_MIN_MS = 60_000;

const TOKEN_RE = /^[A-Za-z0-9_-]{1,256}$/;
const KEY_AUTH_RE = /^[A-Za-z0-9_-]{1,256}\.[A-Za-z0-9_-]{1,256}$/;

export interface CertificateEvent {
  host: string;
  issuer: Issuer["name"];
  serial: string;
  notAfter: string;
  /** "issued" (new or renewed), "loaded" (a stored one put into HAProxy), "removed" (host no longer routed). */
  action: "issued" | "loaded" | "removed";
}

export interface HaproxyTlsOptions {
  store: CertStore;
  /** Made by the caller with this object as the ACME challenge responder when it is an AcmeIssuer. */
  issuer: (challenges: ChallengeResponder) => Issuer;
  files: TlsConfigInput;
  /** Runs a task while nothing else changes HAProxy (the router's lock); rejects once the router stopped. */
  locked: <T>(task: () => Promise<T>) => Promise<T>;
  /** Sends Runtime API commands (inside `locked`). */
  runtime: (commands: string[]) => Promise<string[]>;
  log: Logger;
  renewBeforeMs?: number;
  onCertificate: (event: CertificateEvent) => void;
  onError: (host: string, error: string) => void;
}

export class HaproxyTls implements ChallengeResponder {
  private readonly issuer: Issuer;
  private readonly renewBefore: number;
  /** Host -> serial of the certificate HAProxy holds for it. */
  private loaded = new Map<string, string>();
  private readonly challenges = new Map<string, string>();
  private wanted = new Set<string>();
  private readonly failures = new Map<string, { count: number; retryAt: number }>();
  private passing: Promise<void> | undefined;
  private again = false;
  private timer: NodeJS.Timeout | undefined;
  private stopped = true;

  constructor(private readonly opts: HaproxyTlsOptions) {
    this.issuer = opts.issuer(this);
    this.renewBefore = opts.renewBeforeMs ?? RENEW_BEFORE_MS;
  }

  /** Writes the three files (empty when missing) so HAProxy can start; call before any launch. */
  prepareFiles(): void {
    this.opts.store.prepare();
    for (const f of [this.opts.files.crtList, this.opts.files.certMap, this.opts.files.acmeMap])
      if (!fs.existsSync(f)) writeText(f, "");
  }

  /** Forgets the files' content (a launch with an empty route table). */
  resetFiles(): void {
    this.loaded = new Map();
    this.writeFiles();
  }

  /** Learns which certificates the running HAProxy holds (after a launch, restart or adoption). */
  async readBack(): Promise<void> {
    const { crtList } = this.opts.files;
    const [list = ""] = await this.opts.runtime([`show ssl crt-list ${crtList}`]);
    const entries: [string, string][] = [];
    for (const line of list.split("\n")) {
      const f = line.trim().split(/\s+/);
      if (f.length < 2 || f[0]!.startsWith("#")) continue;
      const host = f[f.length - 1]!;
      if (f[0] === this.opts.store.pemPath(host)) entries.push([host, f[0]!]);
    }
    const answers = entries.length ? await this.opts.runtime(entries.map(([, p]) => `show ssl cert ${p}`)) : [];
    this.loaded = new Map(entries.map(([host], i) => [host, servedSerial(answers[i] ?? "")]));
    this.writeFiles();
  }

  start(): void {
    this.stopped = false;
  }

  stop(): void {
    this.stopped = true;
    clearTimeout(this.timer);
  }

  /** The hosts that should be served over HTTPS now (routed, wantsTls); certificates follow in the background. */
  setHosts(hosts: string[]): void {
    const next = new Set(hosts);
    if (next.size === this.wanted.size && [...next].every((h) => this.wanted.has(h))) return;
    this.wanted = next;
    this.kick();
  }

  /** Runs a pass now (or right after the current one). */
  kick(): void {
    if (this.stopped) return;
    if (this.passing) {
      this.again = true;
      return;
    }
    clearTimeout(this.timer);
    this.passing = this.pass().finally(() => {
      this.passing = undefined;
      if (this.again) {
        this.again = false;
        this.kick();
      }
    });
  }

  /** Resolves when no pass runs (tests). */
  async idle(): Promise<void> {
    while (this.passing) await this.passing;
  }

  async add(token: string, keyAuthorization: string): Promise<void> {
    if (!TOKEN_RE.test(token) || !KEY_AUTH_RE.test(keyAuthorization))
      throw new Error("router: invalid ACME challenge token or key authorization");
    await this.opts.locked(async () => {
      const map = this.opts.files.acmeMap;
      const verb = this.challenges.has(token) ? "set" : "add";
      await this.expectOk([`${verb} map ${map} ${token} ${keyAuthorization}`]);
      this.challenges.set(token, keyAuthorization);
      this.writeFiles();
    });
  }

  async remove(token: string): Promise<void> {
    if (!this.challenges.has(token)) return;
    await this.opts.locked(async () => {
      await this.expectOk([`del map ${this.opts.files.acmeMap} ${token}`]);
      this.challenges.delete(token);
      this.writeFiles();
    });
  }

  private async pass(): Promise<void> {
    const now = Date.now();
    let next = now + PASS_MAX_MS;
    for (const host of [...this.loaded.keys()]) {
      if (this.wanted.has(host) || this.stopped) continue;
      await this.guard(host, () => this.uninstall(host));
    }
    for (const host of [...this.wanted].sort()) {
      if (this.stopped) return;
      let cert = this.opts.store.read(host);
      const usable = cert !== undefined && cert.notAfter > Date.now();
      // A stored certificate is served at once, even one due for renewal (better than none while the CA answers).
      if (cert && usable && this.loaded.get(host) !== cert.serial) {
        const c = cert;
        await this.guard(host, () => this.install(host, c, "loaded"));
      }
      const due = !cert || cert.notAfter - this.renewBefore <= Date.now();
      const failed = this.failures.get(host);
      if (due && (!failed || failed.retryAt <= Date.now())) {
        cert = await this.guard(host, async () => {
          const pem = await this.issuer.issue(host);
          if (this.stopped) return undefined;
          const issued = this.opts.store.write(host, pem);
          if (this.wanted.has(host)) await this.install(host, issued, "issued");
          this.failures.delete(host);
          return issued;
        });
        if (!cert) {
          const count = (failed?.count ?? 0) + 1;
          const retryAt = Date.now() + Math.min(RETRY_MAX_MS, RETRY_MIN_MS * 2 ** (count - 1));
          this.failures.set(host, { count, retryAt });
        }
      }
      const f = this.failures.get(host);
      if (f) next = Math.min(next, f.retryAt);
      if (cert) next = Math.min(next, cert.notAfter - this.renewBefore);
    }
    if (this.stopped) return;
    this.timer = setTimeout(() => this.kick(), Math.max(PASS_MIN_MS, next - Date.now()));
    this.timer.unref();
  }

  /** Runs one host's step; a failure is logged and reported, never thrown (the other hosts go on). */
  private async guard<T>(host: string, step: () => Promise<T>): Promise<T | undefined> {
    try {
      return await step();
    } catch (err) {
      if (this.stopped) return undefined;
      const error = err instanceof Error ? err.message : String(err);
      this.opts.log.warn({ host, issuer: this.issuer.name, err: error.slice(0, 1000) }, "certificate step failed");
      this.opts.onError(host, error);
      return undefined;
    }
  }

  /** Puts `cert` into HAProxy for `host` (a new entry, or a transaction replacing the one it holds). */
  private async install(host: string, cert: StoredCert, action: "issued" | "loaded"): Promise<void> {
    await this.opts.locked(async () => {
      const file = this.opts.store.pemPath(host);
      const { crtList, certMap } = this.opts.files;
      const known = this.loaded.has(host);
      const body = cert.pem.trim().replace(/\n\s*\n/g, "\n");
      await this.expectOk([
        ...(known ? [] : [`new ssl cert ${file}`]),
        `set ssl cert ${file} <<\n${body}`,
        `commit ssl cert ${file}`,
        ...(known ? [] : [`add ssl crt-list ${crtList} <<\n${file} ${host}`, `add map ${certMap} ${host} 1`]),
      ]);
      this.loaded.set(host, cert.serial);
      this.writeFiles();
    });
    const notAfter = new Date(cert.notAfter).toISOString();
    this.opts.log.info({ host, issuer: this.issuer.name, notAfter, action }, "certificate in use");
    this.opts.onCertificate({ host, issuer: this.issuer.name, serial: cert.serial, notAfter, action });
  }

  /** Stops serving `host` over HTTPS (its stored files stay for a later return). */
  private async uninstall(host: string): Promise<void> {
    await this.opts.locked(async () => {
      const file = this.opts.store.pemPath(host);
      await this.expectOk([
        `del map ${this.opts.files.certMap} ${host}`,
        `del ssl crt-list ${this.opts.files.crtList} ${file}`,
        `del ssl cert ${file}`,
      ]);
      this.loaded.delete(host);
      this.writeFiles();
    });
    this.opts.onCertificate({ host, issuer: this.issuer.name, serial: "", notAfter: "", action: "removed" });
  }

  private async expectOk(commands: string[]): Promise<void> {
    const answers = await this.opts.runtime(commands);
    commands.forEach((c, i) => {
      if (!tlsCommandSucceeded(c, answers[i] ?? "")) {
        const head = c.split("\n")[0];
        throw new Error(`router: haproxy refused "${head}": ${(answers[i] ?? "").trim().slice(0, 300)}`);
      }
    });
  }

  private writeFiles(): void {
    const { crtList, certMap, acmeMap } = this.opts.files;
    const hosts = [...this.loaded.keys()].sort();
    writeText(crtList, hosts.map((h) => `${this.opts.store.pemPath(h)} ${h}\n`).join(""));
    writeText(certMap, hosts.map((h) => `${h} 1\n`).join(""));
    writeText(acmeMap, [...this.challenges].map(([t, k]) => `${t} ${k}\n`).join(""));
  }
}

/** True if HAProxy's answer to a TLS-related command reports success (it answers errors in plain words). */
export function tlsCommandSucceeded(command: string, answer: string): boolean {
  // In prompt mode HAProxy prints "+ " for every payload line it reads before the answer.
  const text = answer.trim().replace(/^(?:\+\s*)+/, "");
  if (/^(add|set|del) map /.test(command)) return text === "";
  if (command.startsWith("new ssl cert ")) return /^New empty certificate store/.test(text);
  if (command.startsWith("set ssl cert ")) return /^Transaction (created|updated)/.test(text);
  if (command.startsWith("commit ssl cert ") || command.startsWith("add ssl crt-list "))
    return /Success!\s*$/.test(text);
  if (command.startsWith("del ssl ")) return /deleted/i.test(text) && !/error|can't|cannot|not found/i.test(text);
  return false;
}

function writeText(file: string, text: string): void {
  fs.mkdirSync(path.dirname(file), { recursive: true, mode: 0o700 });
  const tmp = `${file}.tmp`;
  fs.writeFileSync(tmp, text, { mode: 0o600 });
  fs.renameSync(tmp, file);
}

/** The serial in HAProxy's `show ssl cert FILE` answer, spelled as certSerial does ("" when it has none). */
export function servedSerial(answer: string): string {
  const hex = /^Serial: ([0-9A-Fa-f]+)$/m.exec(answer)?.[1];
  return hex === undefined ? "" : certSerial(hex);
}
