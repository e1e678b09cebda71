// Runs `git http-backend` (CGI) for one request and streams its response back.
import { spawn } from "node:child_process";
import type http from "node:http";
import type { Logger } from "../logger.ts";

export interface CgiRequest {
  projectRoot: string;
  pathInfo: string;
  query: string;
  remoteUser: string;
  extraEnv: Record<string, string>;
}

/** Pipes the HTTP request into http-backend and its CGI output (headers, then body) into the response. */
export function runHttpBackend(
  req: http.IncomingMessage,
  res: http.ServerResponse,
  cgi: CgiRequest,
  log: Logger,
): void {
  const env: Record<string, string> = {
    PATH: process.env.PATH ?? "/usr/bin:/bin",
    GIT_PROJECT_ROOT: cgi.projectRoot,
    GIT_HTTP_EXPORT_ALL: "1",
    PATH_INFO: cgi.pathInfo,
    QUERY_STRING: cgi.query,
    REQUEST_METHOD: req.method ?? "GET",
    CONTENT_TYPE: req.headers["content-type"] ?? "",
    REMOTE_USER: cgi.remoteUser,
    REMOTE_ADDR: req.socket.remoteAddress ?? "",
    GIT_CONFIG_NOSYSTEM: "1",
    HOME: cgi.projectRoot,
    ...cgi.extraEnv,
  };
  if (req.headers["content-length"]) env.CONTENT_LENGTH = req.headers["content-length"];
  if (req.headers["content-encoding"]) env.HTTP_CONTENT_ENCODING = req.headers["content-encoding"];
  if (req.headers["git-protocol"]) env.GIT_PROTOCOL = String(req.headers["git-protocol"]);

  // Not runTool: the request body streams into the backend and its response streams back to the client.
  const child = spawn("git", ["http-backend"], { env: env as NodeJS.ProcessEnv, stdio: ["pipe", "pipe", "pipe"] });
  req.pipe(child.stdin);
  child.stdin.on("error", () => undefined); // the backend may stop reading early on errors; its exit tells us
  child.stderr.on("data", (d: Buffer) =>
    log.warn({ component: "git", stderr: d.toString().slice(0, 500) }, "git http-backend"),
  );

  let head = Buffer.alloc(0);
  let headersDone = false;
  child.stdout.on("data", (chunk: Buffer) => {
    if (headersDone) {
      res.write(chunk);
      return;
    }
    head = Buffer.concat([head, chunk]);
    const crlf = head.indexOf("\r\n\r\n");
    const lf = head.indexOf("\n\n");
    const end = crlf >= 0 && (lf < 0 || crlf < lf) ? crlf + 4 : lf >= 0 ? lf + 2 : -1;
    if (end < 0) return;
    headersDone = true;
    let status = 200;
    const headers: Record<string, string> = { "cache-control": "no-cache" };
    for (const line of head.subarray(0, end).toString("latin1").split(/\r?\n/)) {
      const i = line.indexOf(":");
      if (i <= 0) continue;
      const name = line.slice(0, i).trim().toLowerCase();
      const value = line.slice(i + 1).trim();
      if (name === "status") status = Number.parseInt(value, 10) || 500;
      else headers[name] = value;
    }
    res.writeHead(status, headers);
    res.write(head.subarray(end));
  });
  child.on("error", (err) => {
    log.error({ err }, "cannot run git http-backend");
    if (!res.headersSent) res.writeHead(500).end();
  });
  child.on("close", (code) => {
    if (!headersDone && !res.headersSent) {
      log.error({ code }, "git http-backend produced no response");
      res.writeHead(500).end();
      return;
    }
    res.end();
  });
}
