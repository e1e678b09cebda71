// GET /healthz: unauthenticated, for load balancers and monitors. HTTP 200 whenever the control plane can serve
// (CONTRACT: "answers 200 once the control plane serves requests"), with degraded components named in the body;
// 503 only when the control plane itself cannot serve (its database does not answer).
import type http from "node:http";
import type { Logger } from "../logger.ts";
import { publicView, type PlatformHealth } from "./platform-health.ts";

export function serveHealthz(health: PlatformHealth, res: http.ServerResponse, log: Logger): void {
  health.report().then(
    (r) => {
      const body = publicView(r);
      res
        .writeHead(body.status === "down" ? 503 : 200, {
          "content-type": "application/json",
          "cache-control": "no-store",
        })
        .end(JSON.stringify(body));
    },
    (err: unknown) => {
      log.error({ err }, "health check failed");
      if (!res.headersSent)
        res.writeHead(503, { "content-type": "application/json" }).end('{"status":"down","components":[]}');
    },
  );
}
