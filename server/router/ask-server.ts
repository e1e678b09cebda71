// The on-demand TLS "ask" endpoint. Before Caddy obtains (or renews) a certificate at a TLS handshake it sends
// `GET <ask URL>?domain=HOST` and goes ahead only on 200. This loopback server answers 200 exactly for the hosts the
// Router currently allows (its TLS hosts, see router.ts) and 404 for anything else, including every malformed query.
import http from "node:http";
import type net from "node:net";
import { assertHost, wantsTls } from "./caddy-config.ts";

/** The path Caddy is pointed at; any other path is refused. */
export const ASK_PATH = "/tls-ask";

/** What one ask request asked for (the raw `domain` value, cut to 253 characters) and what it got. */
export interface AskDecision {
  domain: string;
  allowed: boolean;
}

/**
 * The answer to one request: allowed only for `GET ASK_PATH?domain=HOST` with exactly one `domain` and no other
 * parameter, HOST a valid lowercase host name that wants TLS and is in `hosts` (exact match, no case folding).
 */
export function decideAsk(
  method: string | undefined,
  rawUrl: string | undefined,
  hosts: ReadonlySet<string>,
): AskDecision {
  let url: URL;
  try {
    url = new URL(rawUrl ?? "", "http://ask.invalid");
  } catch {
    return { domain: "", allowed: false };
  }
  const values = url.searchParams.getAll("domain");
  const domain = (values[0] ?? "").slice(0, 253);
  const params = [...url.searchParams.keys()];
  if (method !== "GET" || url.pathname !== ASK_PATH || values.length !== 1 || params.length !== 1) {
    return { domain, allowed: false };
  }
  try {
    assertHost(domain);
  } catch {
    return { domain, allowed: false };
  }
  return { domain, allowed: wantsTls(domain) && hosts.has(domain) };
}

/**
 * After a yes, the same host is refused this long. A stored certificate is served without asking, so a host asks
 * again only when its order failed (DNS not pointing here yet, an AAAA record elsewhere): at most two orders an hour
 * keep it under Let's Encrypt's 5 failed validations per host per hour (an order tries two challenge types).
 */
export const ASK_COOLDOWN_MS = 30 * 60_000;

export class AskServer {
  private server: http.Server | undefined;
  private hosts: ReadonlySet<string> = new Set();
  private readonly lastYes = new Map<string, number>();

  /** `onAsk` sees every decision (for logs and tests); it must not throw. */
  constructor(
    private readonly onAsk?: (decision: AskDecision) => void,
    private readonly cooldownMs = ASK_COOLDOWN_MS,
    private readonly now: () => number = Date.now,
  ) {}

  /** The decision with the per-host cooldown applied (and recorded when it is a yes). */
  private answer(method: string | undefined, url: string | undefined): AskDecision {
    const decision = decideAsk(method, url, this.hosts);
    if (!decision.allowed) return decision;
    const now = this.now();
    const last = this.lastYes.get(decision.domain);
    if (last !== undefined && now - last < this.cooldownMs) return { ...decision, allowed: false };
    this.lastYes.set(decision.domain, now);
    return decision;
  }

  /** Replaces the hosts that may get a certificate; nothing is allowed until the first call. */
  setHosts(hosts: Iterable<string>): void {
    this.hosts = new Set(hosts);
    const now = this.now();
    for (const [host, at] of this.lastYes) if (now - at >= this.cooldownMs) this.lastYes.delete(host);
  }

  /** Listens on a free 127.0.0.1 port; resolves to the URL to put in Caddy's config. */
  async start(): Promise<string> {
    const server = http.createServer((req, res) => {
      const decision = this.answer(req.method, req.url);
      res.writeHead(decision.allowed ? 200 : 404, {
        "Content-Type": "text/plain; charset=utf-8",
        "Cache-Control": "no-store",
      });
      res.end(decision.allowed ? "yes\n" : "no\n");
      this.onAsk?.(decision);
    });
    // Caddy waits at most 10 s for an answer; a client that dawdles over its headers gets nothing.
    server.headersTimeout = 5000;
    server.requestTimeout = 5000;
    this.server = server;
    await new Promise<void>((resolve, reject) => {
      server.once("error", reject);
      server.listen(0, "127.0.0.1", () => resolve());
    });
    return `http://127.0.0.1:${(server.address() as net.AddressInfo).port}${ASK_PATH}`;
  }

  /** Closes the listener and every open connection; safe to call twice. */
  async stop(): Promise<void> {
    const server = this.server;
    this.server = undefined;
    if (!server) return;
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }
}
