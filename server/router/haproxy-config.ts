// The full HAProxy configuration text that a (re)started HAProxy reads (renderHaproxyConfig): one frontend that looks
// the Host up in the host map, the pool of backends and slots that haproxy-slots.ts plans, access lines into a ring,
// the TLS listener and its rules. Pure; route changes themselves go through the Runtime API (haproxy-slots.ts).
import { backendName, slotName, type RuntimeState } from "./haproxy-slots.ts";

/** Paths and limits the rendered configuration needs; validated by the caller (haproxy-process.ts). */
export interface HaproxyConfigInput {
  listen: { host: string; port: number };
  /** Runtime API socket (mode 0600 inside the router's private directory). */
  adminSocket: string;
  /** The host map file (its path is also the map's name in Runtime API commands). */
  mapFile: string;
  maxBodyBytes: number;
  /** nbthread (HAProxy's own default, one per core, when absent; see HaproxyRouterOptions.threads). */
  threads?: number;
  /** HTTPS (haproxy-tls.ts): a second bind with the certificates of a crt-list, redirects, ACME HTTP-01 answers. */
  tls?: TlsConfigInput;
}

/** The TLS side of the configuration; the three files are kept by haproxy-tls.ts and changed at run time. */
export interface TlsConfigInput {
  port: number;
  /** crt-list file: one "CERT.pem HOST" line per certificate HAProxy holds. */
  crtList: string;
  /** Map of the hosts that have a certificate ("host 1"): their plain-HTTP requests are redirected. */
  certMap: string;
  /** Map of pending ACME HTTP-01 answers ("token keyAuthorization"). */
  acmeMap: string;
}

/** Connection attempts to an instance give up after this long; a refused connect is retried on another instance. */
export const CONNECT_TIMEOUT_MS = 500;
/** Extra connection attempts per request (each on another instance: `option redispatch 1`). */
export const RETRIES = 2;
/** Access lines start with this tag, so other ring messages (server state changes) are told apart. */
export const ACCESS_TAG = "berth1";
/** First line of every config Berth writes (a file without it at our path is not ours to start). */
export const CONFIG_SIGNATURE = "# Written by Berth";

const EMPTY_ADDR = "0.0.0.0:1";

function page(status: number, title: string, message: string): string {
  // lf-string: %[...] expands the app name taken from the map value (validated: [a-z0-9-] only).
  const body =
    `<!doctype html><html><head><meta charset=\\"utf-8\\"><title>${title}</title></head>` +
    `<body style=\\"font-family:sans-serif;margin:3rem\\"><h1>${message}</h1></body></html>\\n`;
  return (
    `  http-request return status ${status} content-type "text/html; charset=utf-8" ` +
    `hdr Cache-Control no-store lf-string "${body}"`
  );
}

function bindHost(host: string): string {
  return host === "" ? "" : host === "localhost" ? "127.0.0.1" : host;
}

/**
 * The TLS listener: certificates come only from the crt-list (loaded and changed over the Runtime API), and
 * `strict-sni` refuses a handshake for any name without one (unknown hosts, localhost names, no SNI) instead of
 * presenting some other host's certificate.
 */
function tlsBind(input: HaproxyConfigInput): string[] {
  if (!input.tls) return [];
  return [
    `  bind ${bindHost(input.listen.host)}:${input.tls.port} ssl crt-list ${input.tls.crtList} alpn h2,http/1.1 strict-sni`,
  ];
}

/** ACME HTTP-01 answers, before the host is looked up (they belong to no app, so no app's log shows them). */
function acmeRules(input: HaproxyConfigInput): string[] {
  const t = input.tls;
  if (!t) return [];
  return [
    // ACME HTTP-01: /.well-known/acme-challenge/TOKEN answers the key authorization while an order validates (over
    // plain HTTP, before the redirect, for any Host: the token itself is the secret part).
    `  http-request set-var(txn.acme) path,field(4,/),map(${t.acmeMap}) if { path_beg /.well-known/acme-challenge/ }`,
    '  http-request return status 200 content-type text/plain lf-string "%[var(txn.acme)]" if { var(txn.acme) -m found }',
  ];
}

/** The HTTP -> HTTPS redirect and the SNI/Host check, after the app is known (their lines go to its log). */
function tlsRules(input: HaproxyConfigInput): string[] {
  const t = input.tls;
  if (!t) return [];
  const port = t.port === 443 ? "" : `:${t.port}`;
  return [
    // Hosts with a certificate are served over HTTPS only (308 keeps the method and body); the challenge path is
    // never redirected, so a renewal's validation reaches the answer above whatever the client follows.
    `  http-request redirect location https://%[var(txn.host)]${port}%[capture.req.uri] code 308 if !{ ssl_fc } !{ path_beg /.well-known/acme-challenge/ } { var(txn.host),map(${t.certMap}) -m found }`,
    // One certificate must not reach another app: the Host of a TLS request must be the name the handshake was for.
    "  http-request set-var(txn.sni) ssl_fc_sni,lower if { ssl_fc }",
    '  http-request return status 421 content-type "text/plain; charset=utf-8" string "misdirected request\\n" if { ssl_fc } !{ var(txn.host),strcmp(txn.sni) eq 0 }',
  ];
}

/** The full HAProxy configuration for `state`; paths and numbers come validated from the caller. */
export function renderHaproxyConfig(input: HaproxyConfigInput, state: RuntimeState): string {
  const listen = `${bindHost(input.listen.host)}:${input.listen.port}`;
  const app = "%[var(txn.app)]";
  const lines = [
    `${CONFIG_SIGNATURE} (server/router/haproxy-config.ts) on every route change; HAProxy reads it only at (re)start.`,
    "global",
    "  master-worker",
    ...(input.threads ? [`  nbthread ${input.threads}`] : []),
    // expose-fd listeners: a reload hands the listening sockets to the new worker, so no connection is refused.
    `  stats socket ${input.adminSocket} mode 600 level admin expose-fd listeners`,
    "  stats timeout 1h",
    "  log ring@access local0 info",
    "  tune.ssl.default-dh-param 2048",
    "",
    // Access lines go to an in-memory ring that the control plane reads over the Runtime API socket
    // (`show events access -w`). A ring `server` pushing to a Unix socket of ours would be simpler, but HAProxy 2.6
    // redials a missing socket in a busy loop (a full core while the control plane restarts).
    "ring access",
    "  format raw",
    "  maxlen 8192",
    "  size 4194304",
    "",
    "defaults",
    "  mode http",
    "  log global",
    `  timeout connect ${CONNECT_TIMEOUT_MS}ms`,
    "  timeout client 60s",
    "  timeout server 300s",
    "  timeout tunnel 1h",
    "  timeout http-request 30s",
    "  timeout http-keep-alive 60s",
    "  option http-keep-alive",
    // At a reload the old worker keeps idle keep-alive connections until their next request and answers it with
    // "Connection: close", instead of closing them while a client may be sending on them (a "socket hang up").
    "  option idle-close-on-response",
    // A connection that fails is retried once per other instance; requests an instance has seen are never retried.
    `  retries ${RETRIES}`,
    "  retry-on conn-failure",
    "  option redispatch 1",
    "",
    "frontend berth",
    `  bind ${listen}`,
    ...tlsBind(input),
    "  unique-id-format %[uuid(4)]",
    `  log-format "${ACCESS_TAG} %Ts.%ms %ID %ST %[var(txn.clen)] %B %Ta %[var(txn.app)] %si:%sp %HM %HPO %[var(txn.host)]"`,
    "  http-request set-var(txn.host) req.hdr(host),field(1,:),lower",
    ...acmeRules(input),
    `  http-request set-var(txn.route) var(txn.host),map(${input.mapFile})`,
    "  http-request set-var(txn.app) var(txn.route),field(2,/)",
    ...tlsRules(input),
    // The request id overrides whatever the client sent; the same id is set on every response (ours too).
    "  http-request set-header X-Request-Id %[unique-id]",
    // No proxy in front of us is trusted: forwarded headers are always ours.
    "  http-request set-header X-Forwarded-For %[src]",
    ...(input.tls
      ? [
          "  http-request set-header X-Forwarded-Proto https if { ssl_fc }",
          "  http-request set-header X-Forwarded-Proto http if !{ ssl_fc }",
        ]
      : ["  http-request set-header X-Forwarded-Proto http"]),
    "  http-request set-header X-Forwarded-Host %[req.hdr(host)]",
    "  http-after-response set-header X-Request-Id %[unique-id]",
    "  http-after-response set-var(txn.clen) res.hdr(content-length)",
    `  use_backend %[var(txn.route),field(1,/)] if { var(txn.route) -m found }`,
    "  default_backend notfound",
    "",
    "backend notfound",
    '  http-request return status 404 content-type "text/plain; charset=utf-8" hdr Cache-Control no-store string "no app at this address\\n"',
    "",
    "backend maint",
    page(503, `${app}: maintenance`, `${app} is down for maintenance`),
    "",
    "backend down",
    page(503, `${app}: unavailable`, `${app} has no running web instances`),
    "",
  ];
  const tooLarge =
    `  http-request return status 413 content-type "text/html; charset=utf-8" hdr Cache-Control no-store ` +
    `hdr Connection close string "<!doctype html><html><body><h1>request body too large</h1></body></html>\\n" ` +
    `if { req.hdr_val(content-length) gt ${input.maxBodyBytes} }`;
  for (let b = 0; b < state.pool.backends; b++) {
    lines.push(`backend ${backendName(b)}`, "  balance leastconn", tooLarge);
    // No health checks and no marking down (see "Passive health" in router.md): a failed connection is retried on
    // another instance (defaults: retries, redispatch), and an instance is never out of rotation because of it.
    for (let j = 0; j < state.pool.slots; j++) {
      const up = state.slots[b]?.[j];
      lines.push(`  server ${slotName(j)} ${up ?? EMPTY_ADDR}${up === undefined ? " disabled" : ""}`);
    }
    lines.push("");
  }
  return lines.join("\n");
}
