// Health probes: a TCP connect to the instance's port, or an HTTP GET of a path expecting 2xx/3xx.
import http from "node:http";
import net from "node:net";
import type { HealthCheck } from "../protocol/desired-state.ts";

/** Where a probe connects. */
export interface ProbeTarget {
  host: string;
  port: number;
}

/** Probes one instance; resolves true when healthy, never rejects. */
export type Prober = (target: ProbeTarget, check: HealthCheck) => Promise<boolean>;

function tcpProbe(target: ProbeTarget, timeoutMs: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect({ host: target.host, port: target.port });
    const done = (ok: boolean) => {
      socket.destroy();
      resolve(ok);
    };
    socket.setTimeout(timeoutMs, () => done(false));
    socket.once("connect", () => done(true));
    socket.once("error", () => done(false));
  });
}

function httpProbe(target: ProbeTarget, path: string, timeoutMs: number): Promise<boolean> {
  return new Promise((resolve) => {
    const req = http.get({ host: target.host, port: target.port, path, timeout: timeoutMs, agent: false }, (res) => {
      res.resume();
      resolve((res.statusCode ?? 500) < 400);
    });
    req.once("timeout", () => req.destroy(new Error("timeout")));
    req.once("error", () => resolve(false));
  });
}

/** The real prober; `none` is always healthy. */
export const probe: Prober = (target, check) => {
  if (check.type === "none") return Promise.resolve(true);
  if (check.type === "tcp") return tcpProbe(target, check.timeoutMs);
  return httpProbe(target, check.path, check.timeoutMs);
};
