// The Unix socket Caddy's "net" log writer connects to (`unix//PATH`). The supervisor only forwards a child's
// stdout/stderr into our debug log, so access lines travel over their own socket instead; Caddy redials it by itself
// after a restart or a dropped connection.
//
// Only the router may write here: an access line names an app by its Host and lands in that app's log, so whoever
// can write lines can put words in any team's log. The socket lives in a directory only the control plane's user can
// enter (0700, checked at start) and is itself 0600; a loopback TCP port, which any local process (or a request the
// router was tricked into proxying there) could reach, is not used.
import fs from "node:fs";
import net from "node:net";
import os from "node:os";
import path from "node:path";

const MAX_LINE = 1024 * 1024;
/** sun_path holds 108 bytes with the terminating NUL; longer data dirs get a private directory under the temp dir. */
const MAX_SOCKET_PATH = 100;
const SOCKET_NAME = "access.sock";

/** Makes `dir` a directory only this process's user can use, or throws (a symlink or another owner is refused). */
function privateDir(dir: string): void {
  fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
  const st = fs.lstatSync(dir);
  const uid = process.getuid?.();
  if (!st.isDirectory() || (uid !== undefined && st.uid !== uid)) {
    throw new Error(`router: ${dir} must be a directory owned by this user for the access-log socket`);
  }
  fs.chmodSync(dir, 0o700);
}

export class LogSink {
  private server: net.Server | undefined;
  private readonly sockets = new Set<net.Socket>();
  private socketPath: string | undefined;
  /** A directory made under the temp dir (long data dir paths), removed at stop. */
  private tempDir: string | undefined;

  constructor(private readonly onLine: (line: string) => void) {}

  /**
   * Listens on `<dir>/access.sock` (dir made private to this user) and resolves to the Caddy writer address
   * ("unix//abs/path/access.sock").
   */
  async start(dir: string): Promise<string> {
    let base = path.resolve(dir);
    if (path.join(base, SOCKET_NAME).length > MAX_SOCKET_PATH) {
      this.tempDir = fs.mkdtempSync(path.join(os.tmpdir(), "berth-router-"));
      base = this.tempDir;
    }
    privateDir(base);
    const file = path.join(base, SOCKET_NAME);
    // A socket file left by an earlier run (crash): nothing listens on it any more.
    fs.rmSync(file, { force: true });
    const server = net.createServer((socket) => this.accept(socket));
    this.server = server;
    await new Promise<void>((resolve, reject) => {
      server.once("error", reject);
      server.listen(file, () => resolve());
    });
    fs.chmodSync(file, 0o600);
    this.socketPath = file;
    return `unix/${file}`;
  }

  /** Closes the listener and every open connection; removes the socket file. */
  async stop(): Promise<void> {
    for (const s of this.sockets) s.destroy();
    const server = this.server;
    this.server = undefined;
    if (server) await new Promise<void>((resolve) => server.close(() => resolve()));
    if (this.socketPath) fs.rmSync(this.socketPath, { force: true });
    this.socketPath = undefined;
    if (this.tempDir) fs.rmSync(this.tempDir, { recursive: true, force: true });
    this.tempDir = undefined;
  }

  private accept(socket: net.Socket): void {
    this.sockets.add(socket);
    socket.setEncoding("utf8");
    let buf = "";
    socket.on("data", (chunk: string) => {
      buf += chunk;
      let nl: number;
      while ((nl = buf.indexOf("\n")) >= 0) {
        const line = buf.slice(0, nl);
        buf = buf.slice(nl + 1);
        if (line.trim()) this.onLine(line);
      }
      if (buf.length > MAX_LINE) buf = ""; // a line this long is not a log line we want
    });
    socket.on("error", () => socket.destroy());
    socket.on("close", () => this.sockets.delete(socket));
  }
}
