// A loopback TCP listener that Caddy's "net" log writer connects to. The supervisor only forwards a child's
// stdout/stderr into our debug log, so access lines travel over their own socket instead; Caddy redials it
// by itself after a restart or a dropped connection.
import net from "node:net";

const MAX_LINE = 1024 * 1024;

export class LogSink {
  private server: net.Server | undefined;
  private readonly sockets = new Set<net.Socket>();

  constructor(private readonly onLine: (line: string) => void) {}

  /** Listens on a free 127.0.0.1 port; resolves to the Caddy writer address ("tcp/127.0.0.1:PORT"). */
  async start(): Promise<string> {
    const server = net.createServer((socket) => this.accept(socket));
    this.server = server;
    await new Promise<void>((resolve, reject) => {
      server.once("error", reject);
      server.listen(0, "127.0.0.1", () => resolve());
    });
    return `tcp/127.0.0.1:${(server.address() as net.AddressInfo).port}`;
  }

  /** Closes the listener and every open connection. */
  async stop(): Promise<void> {
    for (const s of this.sockets) s.destroy();
    const server = this.server;
    this.server = undefined;
    if (server) await new Promise<void>((resolve) => server.close(() => resolve()));
  }

  private accept(socket: net.Socket): void {
    // Anything local could connect; only lines that parse as Caddy JSON have an effect downstream.
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
