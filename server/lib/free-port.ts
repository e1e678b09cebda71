// Picks a free loopback TCP port for a child process that must be told its port up front.
import net from "node:net";

/** A port that was free a moment ago (the child binds it right after; a clash fails loudly at its start). */
export function freeLoopbackPort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.once("error", reject);
    srv.listen(0, "127.0.0.1", () => {
      const addr = srv.address() as net.AddressInfo;
      srv.close(() => resolve(addr.port));
    });
  });
}
