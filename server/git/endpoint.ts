// The git smart-HTTP endpoint: /git/APP.git/... authenticated by API token (basic auth password), authorized by
// team role (viewer fetches, member+ pushes), served by `git http-backend`. Pushes call back through the
// pre-receive hook to /internal/git/hook, which hands the ref updates to the push processor (the build pipeline).
import type http from "node:http";
import { z } from "zod";
import type { Actor, Services } from "../context.ts";
import { BerthError } from "../errors.ts";
import { selfUrl } from "../lib/self-url.ts";
import { resolveApiToken } from "../tokens/api-tokens.ts";
import { requireApp } from "../teams/access.ts";
import { NAME_PATTERN } from "../validation/names.ts";
import { lowSpaceProblem } from "../lib/disk-space.ts";
import { registryProblem } from "../health/registry-gate.ts";
import { ensureRepo, reposRoot } from "./repos.ts";
import { runHttpBackend } from "./cgi.ts";
import { PushSessions, type PushSession } from "./push-sessions.ts";

export const GIT_PREFIX = "/git/";
export const HOOK_PATH = "/internal/git/hook";

/** One pushed ref update as git reports it to pre-receive. */
export interface RefUpdate {
  oldRev: string;
  newRev: string;
  ref: string;
}

/** Where the hook's quarantined objects are, so the pipeline can read the pushed commit. */
export interface ObjectEnv {
  GIT_OBJECT_DIRECTORY?: string;
  GIT_ALTERNATE_OBJECT_DIRECTORIES?: string;
  GIT_QUARANTINE_PATH?: string;
}

/** Handles a push's ref updates; `write` streams text to the pusher; resolves true to accept the push. */
export type PushProcessor = (
  push: { session: PushSession; updates: RefUpdate[]; objectEnv: ObjectEnv },
  write: (text: string) => void,
) => Promise<boolean>;

const Rev = z.string().regex(/^[0-9a-f]{40}$/);
const HookBody = z
  .object({
    updates: z
      .array(
        z.object({
          oldRev: Rev,
          newRev: Rev,
          ref: z
            .string()
            .regex(/^refs\/[A-Za-z0-9._/-]{1,200}$/)
            .refine((r) => !r.includes("..")),
        }),
      )
      .max(100),
    objectDirectory: z.string().max(4096).nullable(),
    alternateObjectDirectories: z.string().max(8192).nullable(),
    quarantinePath: z.string().max(4096).nullable(),
  })
  .strict();

// Only the smart-protocol URLs; the dumb protocol (objects/, HEAD) is not served.
const ROUTE = /^\/git\/([^/]+)\.git(\/info\/refs|\/git-upload-pack|\/git-receive-pack)$/;
const SERVICES = new Set(["git-upload-pack", "git-receive-pack"]);

function send(res: http.ServerResponse, status: number, text: string, headers: Record<string, string> = {}) {
  res.writeHead(status, { "content-type": "text/plain; charset=utf-8", ...headers }).end(`${text}\n`);
}

async function authenticate(s: Services, req: http.IncomingMessage): Promise<Actor | null> {
  const m = /^Basic\s+([A-Za-z0-9+/=]+)$/i.exec(req.headers.authorization ?? "");
  if (!m?.[1]) return null;
  const decoded = Buffer.from(m[1], "base64").toString("utf8");
  const password = decoded.slice(decoded.indexOf(":") + 1);
  const user = await resolveApiToken(s.db, password);
  if (!user) return null;
  return {
    userId: user.id,
    email: user.email,
    isAdmin: user.isAdmin,
    via: "token",
    ip: req.socket.remoteAddress ?? "",
  };
}

/** True if `p` is absent or lies inside `dir` (the hook's object paths must point into the app's repo). */
function inside(dir: string, p: string | null): boolean {
  if (p === null) return true;
  return p.split(":").every((part) => part === dir || part.startsWith(`${dir}/`)) && !p.includes("/../");
}

export class GitEndpoint {
  readonly pushes = new PushSessions();

  constructor(
    private readonly s: Services,
    private readonly processor: PushProcessor,
  ) {}

  /** Serves a /git/... request. */
  async handle(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const url = new URL(req.url ?? "/", "http://x");
    const m = ROUTE.exec(url.pathname);
    const app = m?.[1];
    const tail = m?.[2];
    if (!app || !tail || !NAME_PATTERN.test(app)) return send(res, 404, "repository not found");
    const service = tail === "/info/refs" ? (url.searchParams.get("service") ?? "") : tail.slice(1);
    if (!SERVICES.has(service) || (tail === "/info/refs" ? req.method !== "GET" : req.method !== "POST")) {
      return send(res, 404, "only the smart HTTP protocol is served");
    }
    const actor = await authenticate(this.s, req);
    if (!actor) {
      return send(res, 401, "authentication required: use an API token as the password (berth tokens:create)", {
        "www-authenticate": 'Basic realm="Berth", charset="UTF-8"',
      });
    }
    const pushing = service === "git-receive-pack";
    try {
      await requireApp(this.s.db, actor, app, pushing ? "app:deploy" : "app:read");
    } catch (err) {
      if (err instanceof BerthError) return send(res, err.status, err.message);
      throw err;
    }
    if (pushing) {
      // Before anything is written (the repo's hook, objects, a build): a clear refusal instead of git's ENOSPC.
      const problem = await lowSpaceProblem(this.s.config.dataDir, this.s.config.minFreeBytes, "push");
      if (problem) return send(res, 507, problem);
      // A push builds an image for the registry: refused up front while it is down (git shows `remote: ...`).
      const down = await registryProblem(this.s);
      if (down) return send(res, 503, down);
    }
    const repoDir = await ensureRepo(this.s.config.dataDir, app);
    let session: PushSession | undefined;
    const extraEnv: Record<string, string> = {};
    if (pushing && tail === "/git-receive-pack") {
      session = this.pushes.open(app, repoDir, actor);
      extraEnv.BERTH_PUSH_SECRET = session.secret;
      extraEnv.BERTH_HOOK_URL = `${selfUrl(this.s.config)}${HOOK_PATH}`;
      res.on("close", () => session && this.pushes.close(session));
    }
    runHttpBackend(
      req,
      res,
      {
        projectRoot: reposRoot(this.s.config.dataDir),
        pathInfo: `/${app}.git${tail}`,
        query: url.search.slice(1),
        remoteUser: actor.email,
        extraEnv,
      },
      this.s.log.child({ component: "git", app }),
    );
  }

  /** Serves the pre-receive hook's callback: runs the push processor and streams its output. */
  async handleHook(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const addr = req.socket.remoteAddress ?? "";
    const secret = /^Bearer\s+(\S+)$/.exec(req.headers.authorization ?? "")?.[1];
    // Only the hook on this machine calls back: over loopback, or from our own listen address (HOST=<one address>).
    const local =
      addr === "127.0.0.1" || addr === "::1" || addr === "::ffff:127.0.0.1" || addr === req.socket.localAddress;
    const session = secret && local ? this.pushes.find(secret) : undefined;
    if (!session) return send(res, 404, "not found");
    const chunks: Buffer[] = [];
    let size = 0;
    for await (const c of req) {
      size += (c as Buffer).length;
      if (size > 1024 * 1024) return send(res, 413, "too large");
      chunks.push(c as Buffer);
    }
    let body: z.infer<typeof HookBody>;
    try {
      body = HookBody.parse(JSON.parse(Buffer.concat(chunks).toString("utf8")));
    } catch {
      return send(res, 400, "bad hook request");
    }
    const paths = [body.objectDirectory, body.alternateObjectDirectories, body.quarantinePath];
    if (!paths.every((p) => inside(session.repoDir, p))) return send(res, 400, "object paths outside the repository");
    const objectEnv: ObjectEnv = {};
    if (body.objectDirectory) objectEnv.GIT_OBJECT_DIRECTORY = body.objectDirectory;
    if (body.alternateObjectDirectories) objectEnv.GIT_ALTERNATE_OBJECT_DIRECTORIES = body.alternateObjectDirectories;
    if (body.quarantinePath) objectEnv.GIT_QUARANTINE_PATH = body.quarantinePath;

    res.writeHead(200, { "content-type": "text/plain; charset=utf-8", "cache-control": "no-cache" });
    const write = (text: string) => {
      if (!res.writableEnded) res.write(text);
    };
    let ok = false;
    try {
      ok = await this.processor({ session, updates: body.updates, objectEnv }, write);
    } catch (err) {
      this.s.log.error({ err, app: session.app }, "push processing failed");
      write(`error: ${err instanceof BerthError ? err.message : "internal error while processing the push"}\n`);
    }
    res.end(`\u0000berth-result:${ok ? 0 : 1}\n`);
  }
}
