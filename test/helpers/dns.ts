// A real DNS server for tests (Debian's dnsmasq) on 127.0.0.1 and a port of its own, answering only the TXT records
// and A records (loopback addresses, e.g. for an ACME CA's validation) a test gives it (NXDOMAIN for every other name;
// it never forwards a query anywhere). dnsmasq reads records only at
// start, so setTxt() restarts it on the same port.
import { spawn, type ChildProcess } from "node:child_process";
import fs from "node:fs";
import { Resolver } from "node:dns/promises";
import { freeLoopbackPort } from "../../server/lib/free-port.ts";

const DNSMASQ = "/usr/sbin/dnsmasq";

export class TestDns {
  private child: ChildProcess | undefined;
  private constructor(
    readonly port: number,
    private readonly addresses: Record<string, string> = {},
  ) {}

  /**
   * Starts a server with no TXT records (on a free port; a port clash picks another); `addresses` maps names to the
   * IPv4 address their A queries answer (loopback only: tests never point a name anywhere else).
   */
  static async start(addresses: Record<string, string> = {}): Promise<TestDns> {
    for (const ip of Object.values(addresses))
      if (!/^127\.[0-9]{1,3}\.[0-9]{1,3}\.[0-9]{1,3}$/.test(ip))
        throw new Error(`TestDns: ${ip} is not a loopback address`);
    if (!fs.existsSync(DNSMASQ))
      throw new Error(`${DNSMASQ} is missing: apt-get install dnsmasq-base (scripts/host-packages.mjs)`);
    let last: unknown;
    for (let attempt = 0; attempt < 5; attempt++) {
      const dns = new TestDns(await freeLoopbackPort(), addresses);
      try {
        await dns.launch({});
        return dns;
      } catch (err) {
        last = err;
        await dns.stop();
      }
    }
    throw new Error(`could not start dnsmasq: ${String(last)}`);
  }

  /** Starts a server with no records on `port` (a platform started earlier was told this address). */
  static async startOn(port: number): Promise<TestDns> {
    if (!fs.existsSync(DNSMASQ))
      throw new Error(`${DNSMASQ} is missing: apt-get install dnsmasq-base (scripts/host-packages.mjs)`);
    const dns = new TestDns(port);
    try {
      await dns.launch({});
    } catch (err) {
      await dns.stop();
      throw err;
    }
    return dns;
  }

  /** What BERTH_DNS_RESOLVER takes. */
  get address(): string {
    return `127.0.0.1:${this.port}`;
  }

  /** Serves exactly these TXT records from now on (name -> values), restarting the server on its port. */
  async setTxt(records: Record<string, string[]>): Promise<void> {
    await this.stop();
    await this.launch(records);
  }

  /** Stops the server (safe to call twice). */
  async stop(): Promise<void> {
    const child = this.child;
    this.child = undefined;
    if (!child || child.exitCode !== null || child.signalCode !== null) return;
    await new Promise<void>((resolve) => {
      child.once("exit", () => resolve());
      child.kill("SIGTERM");
    });
  }

  private async launch(records: Record<string, string[]>): Promise<void> {
    const args = [
      "--keep-in-foreground",
      "--conf-file=/dev/null",
      "--no-resolv",
      "--no-hosts",
      "--no-poll",
      "--pid-file=",
      "--bind-interfaces",
      "--listen-address=127.0.0.1",
      `--port=${this.port}`,
      // Authoritative for everything: unknown names are NXDOMAIN, nothing is forwarded.
      "--local=/#/",
      ...Object.entries(this.addresses).map(([name, ip]) => `--address=/${name}/${ip}`),
      ...Object.entries(records).flatMap(([name, values]) => values.map((v) => `--txt-record=${name},${v}`)),
    ];
    let stderr = "";
    const child = spawn(DNSMASQ, args, { stdio: ["ignore", "ignore", "pipe"] });
    child.stderr?.on("data", (d: Buffer) => (stderr += d.toString()));
    this.child = child;
    const exited = new Promise<never>((_, reject) =>
      child.once("exit", (code) => reject(new Error(`dnsmasq exited (${code}): ${stderr.trim()}`))),
    );
    exited.catch(() => undefined);
    const resolver = new Resolver({ timeout: 200, tries: 1 });
    resolver.setServers([this.address]);
    const deadline = Date.now() + 10_000;
    for (;;) {
      const up = resolver.resolveTxt("ready.berth-test.invalid").then(
        () => true,
        (err: NodeJS.ErrnoException) => err.code === "ENOTFOUND" || err.code === "ENODATA",
      );
      if (await Promise.race([up, exited])) return;
      if (Date.now() > deadline) throw new Error(`dnsmasq did not answer on ${this.address}: ${stderr.trim()}`);
      await new Promise((r) => setTimeout(r, 50));
    }
  }
}
