// Read-only registry endpoint for nodes (`/v2/` on the control plane's port). Agents on other hosts cannot reach the
// platform registry (it listens on loopback and its one credential can push and read every team's images), so they
// pull through here with their join token as the password: a team's node reads only its team's apps, a shared node
// any app. Only the pull API is served (ping, manifests, blobs; GET/HEAD); bodies stream from the loopback registry.
import http from "node:http";
import type { Services } from "../context.ts";
import { verifyJoinToken } from "../nodes/join-tokens.ts";
import { AppName } from "../validation/names.ts";
import { REGISTRY_DOWN_MESSAGE } from "../health/registry-gate.ts";

/** How long a pull may see no byte from the registry before it is answered 503. */
const UPSTREAM_IDLE_MS = 60_000;

/** Path prefix of the registry API (distribution spec). */
export const PULL_PREFIX = "/v2/";

const REALM = 'Basic realm="berth-nodes"';
const PULL_PATH = /^\/v2\/([a-z0-9-]+)\/(manifests|blobs)\/([A-Za-z0-9_][A-Za-z0-9._:-]{0,127})$/;
/** Response headers the pull API needs; everything else of the registry's answer stays inside. */
const PASS_HEADERS = [
  "content-type",
  "content-length",
  "docker-content-digest",
  "etag",
  "docker-distribution-api-version",
];

function registryError(res: http.ServerResponse, status: number, code: string, message: string, extra = {}): void {
  res.writeHead(status, { "content-type": "application/json", ...extra });
  res.end(JSON.stringify({ errors: [{ code, message }] }));
}

/** The join token in `Authorization: Basic base64(any:token)`, or "". */
function basicPassword(header: string | undefined): string {
  const b64 = /^Basic\s+([A-Za-z0-9+/=]+)$/i.exec(header ?? "")?.[1];
  if (!b64) return "";
  const decoded = Buffer.from(b64, "base64").toString("utf8");
  const colon = decoded.indexOf(":");
  return colon < 0 ? "" : decoded.slice(colon + 1);
}

/** Serves one request under /v2/ (the caller routes by prefix). */
export async function handlePull(s: Services, req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
  if (req.method !== "GET" && req.method !== "HEAD") {
    registryError(res, 405, "UNSUPPORTED", "this endpoint only serves pulls", { allow: "GET, HEAD" });
    return;
  }
  const token = await verifyJoinToken(s.db, basicPassword(req.headers.authorization));
  if (!token) {
    registryError(res, 401, "UNAUTHORIZED", "a node join token is required", { "www-authenticate": REALM });
    return;
  }
  const pathname = (req.url ?? "").split("?")[0] ?? "";
  if (pathname === PULL_PREFIX) {
    res.writeHead(200, { "content-type": "application/json", "docker-distribution-api-version": "registry/2.0" });
    res.end("{}");
    return;
  }
  const m = PULL_PATH.exec(pathname);
  const name = m?.[1] ?? "";
  // Another team's app answers exactly like a missing one.
  const app = m && AppName.safeParse(name).success ? await s.db.app.findUnique({ where: { name } }) : null;
  if (!m || !app || (token.teamId !== null && app.teamId !== token.teamId)) {
    registryError(res, 404, "NAME_UNKNOWN", "repository name not known to registry");
    return;
  }
  let reg;
  try {
    reg = s.registry();
  } catch {
    registryError(res, 503, "UNAVAILABLE", "the image registry is not running");
    return;
  }
  const accept = req.headers.accept;
  const upstream = http.request(
    {
      host: reg.host.split(":")[0],
      port: Number(reg.host.split(":")[1]),
      method: req.method,
      path: pathname,
      headers: {
        authorization: `Basic ${Buffer.from(`${reg.username}:${reg.password}`).toString("base64")}`,
        ...(accept ? { accept } : {}),
      },
    },
    (up) => {
      const headers: Record<string, string> = {};
      for (const h of PASS_HEADERS) {
        const v = up.headers[h];
        if (typeof v === "string") headers[h] = v;
      }
      res.writeHead(up.statusCode ?? 502, headers);
      up.pipe(res);
      up.on("error", () => res.destroy());
    },
  );
  // A registry that is restarting refuses the connection; a hung one is given up on after a quiet minute. Either way
  // the node sees 503 with a sentence, and its pull fails the instance's start, which the agent retries with backoff.
  upstream.setTimeout(UPSTREAM_IDLE_MS, () => upstream.destroy(new Error("the image registry did not answer in time")));
  upstream.on("error", (err) => {
    s.log.warn({ err: err.message }, "registry pull proxy: upstream failed");
    if (!res.headersSent) registryError(res, 503, "UNAVAILABLE", REGISTRY_DOWN_MESSAGE);
    else res.destroy();
  });
  res.on("close", () => upstream.destroy());
  upstream.end();
}
