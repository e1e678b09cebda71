// Certificates for the HAProxy data plane: where they are stored (one PEM per host, chain + key, 0600, in a 0700
// directory under the data dir, so a restart reuses them) and the two issuers that make them: a local CA created once
// in the data dir (openssl CLI; tests and private networks) and an ACME CA over HTTP-01 (acme-client), whose
// challenge answers the router serves (haproxy-tls.ts puts them into a HAProxy map).
import crypto, { X509Certificate } from "node:crypto";
import fs from "node:fs";
import https from "node:https";
import path from "node:path";
import tls from "node:tls";
import acme from "acme-client";
import { runTool } from "../process/run.ts";
import { assertHost, LETS_ENCRYPT } from "./routes.ts";
import { privateDir } from "./haproxy-process.ts";

const OPENSSL = "/usr/bin/openssl";
/** What the local CA's leaf certificates are valid for (renewed 30 days before the end like ACME ones). */
export const INTERNAL_VALIDITY_DAYS = 90;

/** A stored certificate as the router needs it. */
export interface StoredCert {
  /** Leaf certificate, chain, then private key: what HAProxy's `set ssl cert` and crt-list files take. */
  pem: string;
  notAfter: number;
  /** Upper-case hex without leading zeros (certSerial). */
  serial: string;
}

/**
 * One spelling of a serial number for comparisons: upper-case hex without leading zeros. Node drops a leading zero
 * nibble that HAProxy's `show ssl cert` keeps ("06900..." vs "6900..."), so comparing them raw made an adopted
 * HAProxy's certificate look different for one serial in 16, and it was loaded again.
 */
export function certSerial(hex: string): string {
  return hex
    .trim()
    .toUpperCase()
    .replace(/^0+(?=.)/, "");
}

/** Reads the certificate part of a combined PEM; undefined when it is unreadable or not for `host`. */
export function parseCert(pem: string, host: string): StoredCert | undefined {
  const m = /-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/.exec(pem);
  if (!m || !/-----BEGIN [A-Z ]*PRIVATE KEY-----/.test(pem)) return undefined;
  try {
    const x = new X509Certificate(m[0]);
    if (!x.checkHost(host, { subject: "never", wildcards: false })) return undefined;
    return { pem, notAfter: Date.parse(x.validTo), serial: certSerial(x.serialNumber) };
  } catch {
    return undefined;
  }
}

/** `<dataDir>/haproxy/tls`: certs/HOST.pem, ca/ (internal issuer), acme/ (account keys). */
export class CertStore {
  readonly certDir: string;

  constructor(readonly dir: string) {
    this.certDir = path.join(dir, "certs");
  }

  /** Creates the directories (0700, owned by us). */
  prepare(): void {
    privateDir(this.dir);
    privateDir(this.certDir);
  }

  /** The file HAProxy loads for `host`; its path is also the certificate's name in Runtime API commands. */
  pemPath(host: string): string {
    assertHost(host);
    return path.join(this.certDir, `${host}.pem`);
  }

  read(host: string): StoredCert | undefined {
    try {
      return parseCert(fs.readFileSync(this.pemPath(host), "utf8"), host);
    } catch {
      return undefined;
    }
  }

  /** Replaces `host`'s certificate atomically (0600). */
  write(host: string, pem: string): StoredCert {
    const cert = parseCert(pem, host);
    if (!cert) throw new Error(`router: the issued certificate is not valid for ${host}`);
    writePrivate(this.pemPath(host), pem);
    return cert;
  }
}

function writePrivate(file: string, text: string): void {
  const tmp = `${file}.${process.pid}.tmp`;
  fs.writeFileSync(tmp, text, { mode: 0o600 });
  fs.renameSync(tmp, file);
}

/** Serves HTTP-01 answers while an ACME order validates (the router's challenge map). */
export interface ChallengeResponder {
  add(token: string, keyAuthorization: string): Promise<void>;
  remove(token: string): Promise<void>;
}

export interface Issuer {
  readonly name: "internal" | "acme";
  /** A new certificate (combined PEM) for `host`. */
  issue(host: string): Promise<string>;
}

function openssl(args: string[], cwd: string): Promise<string> {
  // A minimal environment: OPENSSL_CONF and friends of ours never change what it does.
  return runTool(OPENSSL, args, {
    cwd,
    timeoutMs: 30_000,
    env: { PATH: "/usr/bin:/bin", NODE_ENV: process.env.NODE_ENV },
  });
}

/** A local CA (`<tls>/ca/root.crt`, key 0600), created once; clients that should trust it are given root.crt. */
export class InternalIssuer implements Issuer {
  readonly name = "internal";
  private readonly caDir: string;

  constructor(
    store: CertStore,
    private readonly validityDays = INTERNAL_VALIDITY_DAYS,
  ) {
    this.caDir = path.join(store.dir, "ca");
  }

  /** The CA certificate clients must trust. */
  get rootPath(): string {
    return path.join(this.caDir, "root.crt");
  }

  async issue(host: string): Promise<string> {
    assertHost(host);
    await this.ensureCa();
    const work = fs.mkdtempSync(path.join(this.caDir, "issue-"));
    try {
      fs.writeFileSync(
        path.join(work, "ext.cnf"),
        `subjectAltName=DNS:${host}\nbasicConstraints=critical,CA:FALSE\nkeyUsage=critical,digitalSignature\n` +
          "extendedKeyUsage=serverAuth\n",
      );
      await openssl(
        ["req", "-new", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"].concat([
          "-keyout",
          "leaf.key",
          "-out",
          "leaf.csr",
          "-subj",
          `/CN=${host}`,
        ]),
        work,
      );
      await openssl(
        ["x509", "-req", "-in", "leaf.csr", "-CA", this.rootPath, "-CAkey", path.join(this.caDir, "root.key")]
          .concat(["-set_serial", `0x${crypto.randomBytes(16).toString("hex")}`, "-days", String(this.validityDays)])
          .concat(["-extfile", "ext.cnf", "-out", "leaf.crt"]),
        work,
      );
      const read = (f: string) => fs.readFileSync(path.join(work, f), "utf8");
      return read("leaf.crt") + read("leaf.key");
    } finally {
      fs.rmSync(work, { recursive: true, force: true });
    }
  }

  private async ensureCa(): Promise<void> {
    privateDir(this.caDir);
    if (fs.existsSync(this.rootPath)) return;
    await openssl(
      ["req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes", "-days", "3650"]
        .concat(["-keyout", "root.key.tmp", "-out", "root.crt.tmp", "-subj", "/CN=Berth local CA"])
        .concat(["-addext", "basicConstraints=critical,CA:TRUE", "-addext", "keyUsage=critical,keyCertSign,cRLSign"]),
      this.caDir,
    );
    fs.chmodSync(path.join(this.caDir, "root.key.tmp"), 0o600);
    // The key first: a root.crt without its key would make every later issue fail.
    fs.renameSync(path.join(this.caDir, "root.key.tmp"), path.join(this.caDir, "root.key"));
    fs.renameSync(path.join(this.caDir, "root.crt.tmp"), this.rootPath);
  }
}

export interface AcmeIssuerOptions {
  /** Directory URL (https); Let's Encrypt production when absent. */
  directoryUrl?: string;
  email?: string;
  /**
   * Extra CA certificates (PEM) to trust for the ACME directory's own HTTPS, added to Node's roots: a test CA such as
   * pebble's. acme-client has one HTTP client per process, so this applies to every ACME request of the process.
   */
  trustedRoots?: string;
}

/** Certificates from an ACME CA, validated over HTTP-01 through the router's own HTTP listener. */
export class AcmeIssuer implements Issuer {
  readonly name = "acme";
  private readonly directoryUrl: string;
  private readonly accountKeyPath: string;

  constructor(
    store: CertStore,
    private readonly challenges: ChallengeResponder,
    private readonly opts: AcmeIssuerOptions = {},
  ) {
    this.directoryUrl = opts.directoryUrl ?? LETS_ENCRYPT;
    // One account per CA: switching BERTH_ACME_CA must not present one CA's account key to another.
    const id = crypto.createHash("sha256").update(this.directoryUrl).digest("hex").slice(0, 16);
    this.accountKeyPath = path.join(store.dir, "acme", `account-${id}.key`);
    if (opts.trustedRoots) {
      acme.axios.defaults.httpsAgent = new https.Agent({ ca: [...tls.rootCertificates, opts.trustedRoots] });
    }
  }

  async issue(host: string): Promise<string> {
    assertHost(host);
    const client = new acme.Client({ directoryUrl: this.directoryUrl, accountKey: await this.accountKey() });
    const [key, csr] = await acme.crypto.createCsr(
      { commonName: host, altNames: [host] },
      await acme.crypto.createPrivateEcdsaKey(),
    );
    const chain = await client.auto({
      csr,
      email: this.opts.email,
      termsOfServiceAgreed: true,
      challengePriority: ["http-01"],
      // acme-client would first fetch http://HOST/.well-known/... itself: from here that depends on public DNS and
      // port 80 reaching us, which is the CA's view to check, not ours.
      skipChallengeVerification: true,
      challengeCreateFn: async (_authz, challenge, keyAuthorization) => {
        if (challenge.type !== "http-01") throw new Error(`router: unexpected ACME challenge ${challenge.type}`);
        await this.challenges.add(challenge.token, keyAuthorization);
      },
      challengeRemoveFn: async (_authz, challenge) => {
        await this.challenges.remove(challenge.token);
      },
    });
    return `${chain.trim()}\n${key.toString().trim()}\n`;
  }

  private async accountKey(): Promise<string> {
    try {
      return fs.readFileSync(this.accountKeyPath, "utf8");
    } catch {
      privateDir(path.dirname(this.accountKeyPath));
      const key = (await acme.crypto.createPrivateEcdsaKey()).toString();
      writePrivate(this.accountKeyPath, key);
      return key;
    }
  }
}
