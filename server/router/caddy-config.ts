// Pure translation of "which app answers which host, on which upstreams" into a Caddy 2.6 JSON config.
// Everything that reaches the config is validated here, because the config is loaded into a process that
// listens on the public port: a bad host or upstream string must fail loudly, never become a wrong route.

/** One app as the router sees it: the hosts it answers and the web instances behind it. */
export interface RouteEntry {
  app: string;
  hosts: string[];
  maintenance: boolean;
  /** "ipv4:port" or "localhost:port" of healthy web instances. */
  upstreams: string[];
}

/** Everything buildCaddyConfig needs; no defaults are read from the environment. */
export interface CaddyConfigInput {
  listen: { host: string; port: number };
  /** Admin API address, loopback only: "127.0.0.1:PORT". */
  adminAddress: string;
  routes: RouteEntry[];
  limits?: { maxBodyBytes?: number };
  /** Where Caddy writes JSON access lines: a Caddy net address ("unix//PATH", the Router's; or "tcp/127.0.0.1:PORT"); stderr when absent. */
  /**
   * Where access lines go. `upstreams` also logs the proxy's per-request "upstream roundtrip" lines (DEBUG), which
   * name the instance that answered; they cost a large share of throughput, so they are off unless asked for.
   */
  accessLog?: { address: string; upstreams?: boolean };
  /** A TLS listener for the hosts that qualify (see wantsTls); plain HTTP only when absent. */
  https?: HttpsOptions;
  /**
   * Required with `https`: the URL Caddy asks (`GET URL?domain=HOST`, 200 = yes) before it obtains a certificate at a
   * TLS handshake; loopback http only ("http://127.0.0.1:PORT/path"). The Router serves it (ask-server.ts).
   */
  tlsAsk?: string;
}

/** The router's TLS listener and where its certificates come from. */
export interface HttpsOptions {
  /** Port of the TLS listener (443 in production); must differ from the HTTP port. */
  port: number;
  /** "acme": a public ACME CA (Let's Encrypt unless acmeCa says otherwise); "internal": Caddy's own local CA. */
  issuer: "acme" | "internal";
  /** ACME account email (the CA's expiry notices go there); acme only. */
  acmeEmail?: string;
  /** ACME directory URL (https); acme only, LETS_ENCRYPT when absent. */
  acmeCa?: string;
}

/** A Caddy JSON config document (opaque to callers; it is serialized and POSTed to /load). */
export type CaddyConfig = Record<string, unknown>;

/** Request bodies above this many bytes get 413 unless limits.maxBodyBytes says otherwise. */
export const DEFAULT_MAX_BODY_BYTES = 100 * 1024 * 1024;
/** The HTTP server's name inside the config; its access logger is `http.log.access.<name>`. */
export const SERVER_NAME = "berth";
/** The TLS server's name; it logs under SERVER_NAME too, so access lines need no second logger. */
export const TLS_SERVER_NAME = "berth_tls";
/** Let's Encrypt's production directory: the ACME CA when none is configured. */
export const LETS_ENCRYPT = "https://acme-v02.api.letsencrypt.org/directory";
/** Logger names Caddy uses for access lines and for the reverse proxy's per-upstream debug lines. */
export const ACCESS_LOGGER = `http.log.access.${SERVER_NAME}`;
export const PROXY_LOGGER = "http.handlers.reverse_proxy";
/** Caddy's certificate management logs under this name and its children (tls.obtain, tls.renew, ...). */
export const TLS_LOGGER = "tls";
/**
 * On-demand issuance limit for the whole router: at most ON_DEMAND_BURST certificates obtained or renewed at TLS
 * handshakes per ON_DEMAND_INTERVAL (Caddy counts only names the ask endpoint allowed; certificates already in storage
 * load without counting). A handshake over the limit fails without contacting the CA.
 */
export const ON_DEMAND_INTERVAL = "1m";
export const ON_DEMAND_BURST = 10;

/** Passive health: an upstream with one failed proxy attempt is left out of rotation for this long. */
export const FAIL_DURATION = "5s";
/** Retries (dial failures only) give up after this long; the interval keeps a dead pool from spinning. */
export const TRY_DURATION = "1s";
export const TRY_INTERVAL = "50ms";
/** Idle keep-alive connections kept per upstream instance. */
export const MAX_IDLE_PER_UPSTREAM = 128;

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
  // Both strings go into Caddy's JSON, where braces would be read as placeholders.
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
  // App names end up inside HTML pages and Caddy placeholders ({...}); the allowlist keeps both inert.
  if (!APP_RE.test(app)) throw new Error(`router: invalid app name ${JSON.stringify(app)}`);
}

function assertPort(port: number, what: string, allowZero = false): void {
  if (!Number.isInteger(port) || port < (allowZero ? 0 : 1) || port > 65535) {
    throw new Error(`router: invalid ${what} port ${port}`);
  }
}

function assertInput(input: CaddyConfigInput): void {
  const { listen, adminAddress } = input;
  if (listen.host !== "" && listen.host !== "localhost" && !IPV4_RE.test(listen.host)) {
    throw new Error(`router: invalid listen host ${JSON.stringify(listen.host)}`);
  }
  assertPort(listen.port, "listen");
  // The admin API can rewrite the whole router, so it must never be reachable from off the host.
  const admin = /^(127\.[0-9]{1,3}\.[0-9]{1,3}\.[0-9]{1,3}|localhost):([0-9]{1,5})$/.exec(adminAddress);
  if (!admin) throw new Error(`router: admin address must be loopback host:port, got ${JSON.stringify(adminAddress)}`);
  assertPort(Number(admin[2]), "admin");
  // The Router uses a Unix socket (log-sink.ts); loopback TCP stays accepted for tools that read the config builder.
  if (
    input.accessLog &&
    !/^(?:tcp\/127\.0\.0\.1:[0-9]{1,5}|unix\/\/[A-Za-z0-9._/-]{1,200})$/.test(input.accessLog.address)
  ) {
    throw new Error(
      `router: access log address must be unix//PATH or tcp/127.0.0.1:PORT, got ${input.accessLog.address}`,
    );
  }
  const max = input.limits?.maxBodyBytes;
  if (max !== undefined && (!Number.isSafeInteger(max) || max < 1))
    throw new Error(`router: invalid maxBodyBytes ${max}`);
  if (input.https) {
    assertHttps(input.https, listen.port);
    // Without the ask endpoint on-demand issuance would have no gate but the policy's subjects.
    if (input.tlsAsk === undefined) throw new Error("router: https needs the on-demand ask URL (tlsAsk)");
    const ask = /^http:\/\/127\.0\.0\.1:([0-9]{1,5})\/[A-Za-z0-9._~/-]*$/.exec(input.tlsAsk);
    if (!ask)
      throw new Error(`router: tls ask URL must be http://127.0.0.1:PORT/path, got ${JSON.stringify(input.tlsAsk)}`);
    assertPort(Number(ask[1]), "tls ask");
  }
}

function page(status: number, title: string, message: string): Record<string, unknown> {
  // Bodies go through Caddy's placeholder replacer, so they must not contain braces (validated names cannot).
  const body =
    `<!doctype html><html><head><meta charset="utf-8"><title>${title}</title></head>` +
    `<body style="font-family:sans-serif;margin:3rem"><h1>${message}</h1></body></html>\n`;
  return {
    handler: "static_response",
    status_code: status,
    headers: { "Content-Type": ["text/html; charset=utf-8"], "Cache-Control": ["no-store"] },
    body,
  };
}

function proxy(upstreams: string[]): Record<string, unknown> {
  return {
    handler: "reverse_proxy",
    // WebSocket upgrades pass through reverse_proxy by default; X-Forwarded-For/Proto/Host are set by Caddy 2.6
    // itself (overwriting whatever the client sent, since no proxy is trusted).
    headers: { request: { set: { "X-Request-Id": ["{http.request.uuid}"] } } },
    load_balancing: {
      selection_policy: { policy: "least_conn" },
      try_duration: TRY_DURATION,
      try_interval: TRY_INTERVAL,
      // Caddy retries GETs even after the upstream saw them; a never-matching matcher limits retries to dial
      // failures, i.e. requests that never reached an instance.
      retry_match: [{ expression: "false" }],
    },
    health_checks: { passive: { fail_duration: FAIL_DURATION, max_fails: 1 } },
    // Caddy keeps 32 idle connections per upstream by default: at 50 concurrent requests about 1 in 9 opened a new
    // one (bench/router.ts: 4,446 new upstream connections per run, 47 with this).
    transport: { protocol: "http", keep_alive: { max_idle_conns_per_host: MAX_IDLE_PER_UPSTREAM } },
    upstreams: upstreams.map((dial) => ({ dial })),
  };
}

function appHandlers(entry: RouteEntry, maxBodyBytes: number): Record<string, unknown>[] {
  if (entry.maintenance) return [page(503, `${entry.app}: maintenance`, `${entry.app} is down for maintenance`)];
  if (entry.upstreams.length === 0) {
    return [page(503, `${entry.app}: unavailable`, `${entry.app} has no running web instances`)];
  }
  // Declared-too-large bodies are refused before proxying: a body that overflows request_body mid-stream makes
  // Caddy 2.6 count the upstream as failed (passive health), so rejecting early keeps honest instances in rotation.
  const declaredTooLarge = {
    match: [
      {
        expression:
          `{http.request.header.Content-Length}.matches('^[0-9]{1,18}$') && ` +
          `int({http.request.header.Content-Length}) > ${maxBodyBytes}`,
      },
    ],
    handle: [{ ...page(413, "request too large", "request body too large"), close: true }],
    terminal: true,
  };
  const forward = { handle: [{ handler: "request_body", max_size: maxBodyBytes }, proxy(entry.upstreams)] };
  return [{ handler: "subroute", routes: [declaredTooLarge, forward] }];
}

/**
 * Apps per outer route once there are more than this many. Caddy tries routes in order, so with one route per app a
 * request for the last of 1,000 apps was matched against every app's host list before it (bench/router.ts: 0.41x the
 * requests/s of one app). Grouped, a request is matched against ~16 group host lists (Caddy looks up lists over 100
 * hosts by binary search) and then ~64 app routes (0.81x). Hosts belong to one app only, so the answer is the same.
 */
export const APPS_PER_ROUTE_GROUP = 64;

/** Wraps app routes in groups of APPS_PER_ROUTE_GROUP behind one route matching all of the group's hosts. */
function groupAppRoutes(routes: { hosts: string[]; route: Record<string, unknown> }[]): Record<string, unknown>[] {
  if (routes.length <= APPS_PER_ROUTE_GROUP) return routes.map((r) => r.route);
  const groups: Record<string, unknown>[] = [];
  for (let i = 0; i < routes.length; i += APPS_PER_ROUTE_GROUP) {
    const part = routes.slice(i, i + APPS_PER_ROUTE_GROUP);
    groups.push({
      match: [{ host: part.flatMap((r) => r.hosts) }],
      handle: [{ handler: "subroute", routes: part.map((r) => r.route) }],
      terminal: true,
    });
  }
  return groups;
}

/** Builds the full Caddy config for the given routes; throws on any invalid host, upstream, app or address. */
export function buildCaddyConfig(input: CaddyConfigInput): CaddyConfig {
  assertInput(input);
  const maxBodyBytes = input.limits?.maxBodyBytes ?? DEFAULT_MAX_BODY_BYTES;
  const owner = new Map<string, string>();
  const appRoutes: { hosts: string[]; route: Record<string, unknown> }[] = [];
  const apps = new Set<string>();
  for (const entry of input.routes) {
    assertApp(entry.app);
    if (apps.has(entry.app)) throw new Error(`router: app ${entry.app} listed twice`);
    apps.add(entry.app);
    entry.upstreams.forEach(assertUpstream);
    const hosts = [...new Set(entry.hosts)];
    for (const host of hosts) {
      assertHost(host);
      // Two apps on one host would make the answer depend on route order: refuse instead of guessing.
      const other = owner.get(host);
      if (other !== undefined) throw new Error(`router: host ${host} is claimed by both ${other} and ${entry.app}`);
      owner.set(host, entry.app);
    }
    if (hosts.length === 0) continue;
    appRoutes.push({
      hosts,
      route: { match: [{ host: hosts }], handle: appHandlers(entry, maxBodyBytes), terminal: true },
    });
  }

  const writer = input.accessLog ? { output: "net", address: input.accessLog.address } : { output: "stderr" };
  const https = input.https;
  const tlsHosts = https ? tlsHostsOf(input.routes) : [];
  const requestId = {
    // Deferred so it overrides whatever the upstream sent and also lands on Caddy's own pages.
    handle: [{ handler: "headers", response: { set: { "X-Request-Id": ["{http.request.uuid}"] }, deferred: true } }],
  };
  const notFound = {
    handle: [
      {
        handler: "static_response",
        status_code: 404,
        headers: { "Content-Type": ["text/plain; charset=utf-8"], "Cache-Control": ["no-store"] },
        body: "no app at this address\n",
      },
    ],
  };
  const server = (port: number, routes: Record<string, unknown>[]) => ({
    listen: [`${input.listen.host}:${port}`],
    // Caddy would otherwise pick certificate names from the host matchers (localhost included) and add its own
    // redirect listeners; here certificates come only from the on-demand policy in apps.tls, redirects from our route.
    automatic_https: { disable: true },
    read_header_timeout: "30s",
    logs: { default_logger_name: SERVER_NAME },
    routes: [requestId, ...routes, ...groupAppRoutes(appRoutes), notFound],
  });
  const servers: Record<string, unknown> = {
    [SERVER_NAME]: server(input.listen.port, redirectRoutes(tlsHosts, https)),
  };
  if (https) {
    servers[TLS_SERVER_NAME] = {
      ...server(https.port, []),
      tls_connection_policies: [{}],
      // Host must equal the SNI name (else 421): a connection made for one certified host cannot reach another app.
      strict_sni_host: true,
      // No HTTP/3: it would need a UDP listener that port checks and firewall notes do not cover.
      protocols: ["h1", "h2"],
    };
  }
  return {
    admin: { listen: input.adminAddress, config: { persist: false } },
    logging: {
      logs: {
        // Access and per-upstream lines go only to the access writer; everything else stays on stderr.
        default: { exclude: [ACCESS_LOGGER, PROXY_LOGGER] },
        berth_access: {
          writer,
          encoder: { format: "json" },
          // DEBUG is needed for the proxy's "upstream roundtrip" lines, which carry the upstream address.
          level: input.accessLog?.upstreams ? "DEBUG" : "INFO",
          include: input.accessLog?.upstreams ? [ACCESS_LOGGER, PROXY_LOGGER] : [ACCESS_LOGGER],
        },
        // Certificate trouble (ACME errors, renewals failing) must reach our log at warn/error; Caddy's stderr only
        // reaches it at debug.
        ...(https ? { berth_tls: { writer, encoder: { format: "json" }, level: "WARN", include: [TLS_LOGGER] } } : {}),
      },
    },
    apps: https
      ? {
          http: { http_port: input.listen.port, https_port: https.port, servers },
          ...tlsApps(tlsHosts, https, input.listen.port, input.tlsAsk ?? ""),
        }
      : { http: { servers } },
  };
}

/** Plain-HTTP requests for certified hosts go to HTTPS (ACME HTTP-01 challenges are answered before any route). */
function redirectRoutes(tlsHosts: string[], https: HttpsOptions | undefined): Record<string, unknown>[] {
  if (!https || tlsHosts.length === 0) return [];
  const port = https.port === 443 ? "" : `:${https.port}`;
  return [
    {
      match: [{ host: tlsHosts }],
      handle: [
        {
          handler: "static_response",
          // 308 keeps the method and body, so a POST to http:// is not silently turned into a GET.
          status_code: 308,
          // The host placeholder is the request's own Host without port, which the matcher limited to tlsHosts.
          headers: { Location: [`https://{http.request.host}${port}{http.request.uri}`] },
        },
      ],
      terminal: true,
    },
  ];
}

/**
 * The tls and pki apps. Certificates are on demand: Caddy obtains one at the first TLS handshake for a host (which
 * only arrives once the host's DNS points here), never at config load. Caddy 2.6 restarts every pending order on
 * each load, and we load on every route change, so load-time issuance would retry a host without DNS once per
 * deploy and burn the CA's failed-validation limit; an on-demand order is started by a handshake and keeps its own
 * backoff across any number of loads (docs/router.md has the measurements).
 *
 * Two gates decide which names may get a certificate:
 * - The policy lists `tlsHosts` as subjects. A handshake for any other name (unknown, localhost, no longer routed)
 *   falls through to Caddy's default policy, which is not on demand, so it fails without a CA or the ask endpoint
 *   being involved. Caddy 2.6 also loads stored certificates at handshakes for on-demand policies without asking,
 *   so a policy without subjects would keep serving a removed host's stored certificate after a restart; with
 *   subjects it does not.
 * - `ask` (the Router's ask server) must answer 200 for the name before Caddy obtains or renews. It says yes only
 *   for hosts in both the loaded table and the latest one given to apply(), so a removed host is refused from the
 *   moment apply() is called, while Caddy's loaded subjects still list it until the new config is live.
 * Then `rate_limit` bounds how many issuances handshakes can trigger across all names (see ON_DEMAND_BURST).
 */
function tlsApps(tlsHosts: string[], https: HttpsOptions, httpPort: number, ask: string): Record<string, unknown> {
  const issuer =
    https.issuer === "internal"
      ? { module: "internal", ca: "local" }
      : {
          module: "acme",
          ca: https.acmeCa ?? LETS_ENCRYPT,
          ...(https.acmeEmail !== undefined ? { email: https.acmeEmail } : {}),
          // The challenge solvers must use our listeners rather than bind 80/443 themselves.
          challenges: { http: { alternate_port: httpPort }, "tls-alpn": { alternate_port: https.port } },
        };
  const policy = {
    subjects: tlsHosts,
    issuers: [issuer],
    on_demand: true,
    // Let's Encrypt no longer runs OCSP and internal certificates name no responder: stapling would only log a
    // warning per certificate.
    disable_ocsp_stapling: true,
  };
  return {
    tls: {
      automation: {
        // Present even without TLS hosts: Caddy resets its on-demand rate limiter when a load has no rate_limit.
        on_demand: { ask, rate_limit: { interval: ON_DEMAND_INTERVAL, burst: ON_DEMAND_BURST } },
        // No policy at all without TLS hosts: a policy without subjects would match every name.
        ...(tlsHosts.length > 0 ? { policies: [policy] } : {}),
      },
    },
    // Caddy (running as root) would otherwise install its local root CA into the system trust store.
    pki: { certificate_authorities: { local: { install_trust: false } } },
  };
}

/** The minimal config Caddy starts with: only the admin API, so nothing listens publicly before the first load. */
export function adminOnlyConfig(adminAddress: string): CaddyConfig {
  return { admin: { listen: adminAddress, config: { persist: false } } };
}
