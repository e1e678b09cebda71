// The router's input and the rules every route and TLS option must satisfy. Everything that reaches HAProxy's
// configuration, map files or Runtime API is validated here first, because HAProxy listens on the public port: a bad
// host or upstream string must fail loudly, never become a wrong route.

/** One app as the router sees it: the hosts it answers and the web instances behind it. */
export interface RouteEntry {
  app: string;
  hosts: string[];
  maintenance: boolean;
  /** "ipv4:port" or "localhost:port" of healthy web instances. */
  upstreams: string[];
}

/** The router's TLS listener and where its certificates come from. */
export interface HttpsOptions {
  /** Port of the TLS listener (443 in production); must differ from the HTTP port. */
  port: number;
  /** "acme": a public ACME CA (Let's Encrypt unless acmeCa says otherwise); "internal": the control plane's own CA. */
  issuer: "acme" | "internal";
  /** ACME account email (the CA's expiry notices go there); acme only. */
  acmeEmail?: string;
  /** ACME directory URL (https); acme only, LETS_ENCRYPT when absent. */
  acmeCa?: string;
}

/** Request bodies above this many bytes get 413 unless limits.maxBodyBytes says otherwise. */
export const DEFAULT_MAX_BODY_BYTES = 100 * 1024 * 1024;
/** Let's Encrypt's production directory: the ACME CA when none is configured. */
export const LETS_ENCRYPT = "https://acme-v02.api.letsencrypt.org/directory";

const LABEL = "[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?";
const HOST_RE = new RegExp(`^${LABEL}(?:\\.${LABEL})*$`);
const APP_RE = /^[a-z][a-z0-9-]{0,62}$/;
const OCTET = "(?:25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])";
const IPV4_RE = new RegExp(`^${OCTET}(?:\\.${OCTET}){3}$`);

/** Throws unless `host` is a lowercase DNS name (no port, no wildcard, no trailing dot). */
export function assertHost(host: string): void {
  if (host.length > 253 || !HOST_RE.test(host)) throw new Error(`router: invalid host name ${JSON.stringify(host)}`);
}

/** Throws unless `upstream` is "ipv4:port" or "localhost:port" with a port in 1..65535. */
export function assertUpstream(upstream: string): void {
  const m = /^([^:]+):([0-9]{1,5})$/.exec(upstream);
  const port = m ? Number(m[2]) : 0;
  if (!m || !(m[1] === "localhost" || IPV4_RE.test(m[1] ?? "")) || port < 1 || port > 65535) {
    throw new Error(`router: invalid upstream ${JSON.stringify(upstream)} (want ipv4:port or localhost:port)`);
  }
}

/**
 * True if `host` (a valid host name) gets a certificate and an HTTPS redirect when HTTPS is on. `localhost` names
 * always mean this machine and no CA certifies them, IP-like names are not names, and one-label names cannot be
 * certified publicly; all of these stay plain HTTP.
 */
export function wantsTls(host: string): boolean {
  const labels = host.split(".");
  if (labels.length < 2 || host === "localhost" || host.endsWith(".localhost")) return false;
  return !/^[0-9]+$/.test(labels[labels.length - 1] ?? "");
}

/** The hosts of `routes` that get TLS (wantsTls), deduplicated and sorted; the routes must be valid already. */
export function tlsHostsOf(routes: RouteEntry[]): string[] {
  return [...new Set(routes.flatMap((r) => r.hosts))].filter(wantsTls).sort();
}

export function assertHttps(https: HttpsOptions, httpPort: number): void {
  assertPort(https.port, "https");
  if (https.port === httpPort) throw new Error(`router: https port ${https.port} is also the http port`);
  if (https.issuer !== "acme" && https.issuer !== "internal") {
    throw new Error(`router: invalid tls issuer ${JSON.stringify(https.issuer)} (want acme or internal)`);
  }
  if (https.issuer === "internal" && (https.acmeEmail !== undefined || https.acmeCa !== undefined)) {
    throw new Error("router: acmeEmail and acmeCa apply only to the acme issuer");
  }
  // Both strings reach the ACME client and our logs; braces and whitespace are refused as they never belong there.
  const email = https.acmeEmail;
  if (email !== undefined && (email.length > 254 || !/^[A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,}$/.test(email))) {
    throw new Error(`router: invalid ACME email ${JSON.stringify(email)}`);
  }
  const ca = https.acmeCa;
  if (ca !== undefined) {
    let url: URL | undefined;
    try {
      url = new URL(ca);
    } catch {
      url = undefined;
    }
    if (!url || url.protocol !== "https:" || url.username || url.password || /[{}\s]/.test(ca) || ca.length > 2000) {
      throw new Error(`router: ACME CA must be an https directory URL, got ${JSON.stringify(ca)}`);
    }
  }
}

/** Throws unless `app` is a valid app name (lowercase letter, then letters, digits, dashes; at most 63). */
export function assertApp(app: string): void {
  // App names end up inside HTML pages, HAProxy backend names and map values; the allowlist keeps them inert.
  if (!APP_RE.test(app)) throw new Error(`router: invalid app name ${JSON.stringify(app)}`);
}

function assertPort(port: number, what: string, allowZero = false): void {
  if (!Number.isInteger(port) || port < (allowZero ? 0 : 1) || port > 65535) {
    throw new Error(`router: invalid ${what} port ${port}`);
  }
}
