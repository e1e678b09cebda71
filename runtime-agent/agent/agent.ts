// One agent: a reconciler over a runtime backend, a tick loop, and the connection that feeds it desired states.
import os from "node:os";
import path from "node:path";
import type { Logger } from "pino";
import type { RegisterParams } from "../protocol/register.ts";
import type { VolumeStreamParams } from "../protocol/methods.ts";
import type { RuntimeBackend } from "../runtime/backend.ts";
import { RuntimeError } from "../runtime/errors.ts";
import { AgentConnection } from "./connection.ts";
import { ExecSessions, execStartError } from "./exec-sessions.ts";
import { type Prober, probe as realProbe } from "./health.ts";
import type { HostPortsInUse } from "./host-ports.ts";
import { LogShipper, withLogShipping } from "./log-shipper.ts";
import { Reconciler } from "./reconciler.ts";
import { startStatsCollector } from "./stats-collector.ts";
import { loadState } from "./state-file.ts";

/** What an agent needs; the backend is injected so tests can use the FakeBackend. */
export interface AgentOptions {
  controlPlane: string;
  joinToken: string;
  stateDir: string;
  backend: RuntimeBackend;
  register: () => Promise<RegisterParams>;
  log: Logger;
  hostPorts?: { min: number; max: number };
  tickMs?: number;
  probe?: Prober;
  /** Interval of `node.stats` samples (default 5 s). */
  statsIntervalMs?: number;
  /** Ports the host already uses (main.ts: listeners and NAT rules); default none. */
  hostPortsInUse?: HostPortsInUse;
  /** Where published ports are mapped (`--host-ip`); unset: the address the node registers with. */
  hostIp?: string;
  /** Liveness probing of running instances (default DEFAULT_LIVENESS). */
  liveness?: { everyMs: number; failures: number };
  /** Removes network leftovers of containers that no longer exist; run at start and every `gcEveryMs`. */
  collectGarbage?: () => Promise<void>;
  gcEveryMs?: number;
}

/** A running agent. */
export interface Agent {
  reconciler: Reconciler;
  connection: AgentConnection;
  /** Stops the loop and the connection; containers keep running. */
  stop(): Promise<void>;
}

/** True when `address` is assigned to one of this host's interfaces. */
function isLocalAddress(address: string): boolean {
  return Object.values(os.networkInterfaces()).some((list) => list?.some((i) => i.address === address));
}

/** File the agent keeps its state in, under its state dir. */
export function stateFilePath(stateDir: string): string {
  return path.join(stateDir, "agent-state.json");
}

/** Loads the local state, re-adopts what runs, connects and starts the reconcile loop. */
export async function startAgent(opts: AgentOptions): Promise<Agent> {
  const log = opts.log;
  const stateFile = stateFilePath(opts.stateDir);
  const initial = await loadState(stateFile);
  // Where the router reaches published ports, learnt from the registration when not configured.
  let registeredAddress: string | undefined;
  const register = async (): Promise<RegisterParams> => {
    const params = await opts.register();
    registeredAddress = params.address;
    return params;
  };
  const volumes = opts.backend.volumes;
  const connection: AgentConnection = new AgentConnection({
    url: opts.controlPlane,
    token: opts.joinToken,
    log: log.child({ component: "connection" }),
    handlers: {
      register,
      registered: (r) => reconciler.setNodeId(r.nodeId),
      applyDesiredState: (state) => reconciler.apply(state),
      observedState: () => reconciler.observed(),
      exec: {
        start: (p): Promise<void> => execs.start(p),
        input: (id, data, eof) => execs.input(id, data, eof),
        resize: (id, cols, rows) => execs.resize(id, cols, rows),
        ack: (id, bytes) => execs.ack(id, bytes),
        close: (id) => execs.close(id),
        disconnected: () => execs.closeAll(),
        startError: execStartError,
      },
      ...(volumes
        ? {
            volumes: {
              list: () => volumes.list(),
              destroy: (id: string) => volumes.destroy(id),
              // Volume archives travel as exec sessions (same streams, flow control and session cap).
              stream: async (direction: "archive" | "extract", p: VolumeStreamParams): Promise<void> => {
                const start = direction === "archive" ? volumes.archive?.bind(volumes) : volumes.extract?.bind(volumes);
                if (!start) throw new RuntimeError("invalid", "this node's runtime cannot archive volumes");
                await execs.startWith(p.session, { volume: p.id, direction }, () => start(p.id, p.team));
              },
            },
          }
        : {}),
    },
  });
  // Exec streams go out on the current socket only: a session never continues on a later connection.
  const execs: ExecSessions = new ExecSessions(
    opts.backend,
    (method, params): boolean => connection.sendNow(method, params),
    log.child({ component: "exec" }),
  );
  // Container logs are tailed from conmon's files (offsets persisted) and sent only while registered; the wrapped
  // backend tails every new container and opens a deleted one's file first so its last lines are still shipped.
  const logs: LogShipper = new LogShipper({
    stateDir: opts.stateDir,
    send: (batch): void => connection.notify("instance.logs", batch),
    canSend: (): boolean => connection.isRegistered,
    log: log.child({ component: "log-shipper" }),
  });
  await logs.start(await opts.backend.list());
  const reconciler = new Reconciler({
    backend: withLogShipping(opts.backend, logs),
    probe: opts.probe ?? realProbe,
    log: log.child({ component: "reconciler" }),
    stateFile,
    initial,
    hostPorts: opts.hostPorts ?? { min: 20_000, max: 29_999 },
    ...(opts.hostPortsInUse ? { hostPortsInUse: opts.hostPortsInUse } : {}),
    // Only an address of this host: a port mapping is a DNAT of traffic to local addresses, and an announced address
    // that is not local (behind NAT) would probe somewhere else and fail every instance.
    probeHost: () =>
      opts.hostIp ?? (registeredAddress && isLocalAddress(registeredAddress) ? registeredAddress : undefined),
    ...(opts.liveness ? { liveness: opts.liveness } : {}),
    onEvent: (event) => {
      log.info({ instance: event.instanceId, state: event.state, reason: event.reason }, "instance event");
      connection.notify("instance.event", event);
    },
  });
  const collect = async () => {
    await opts.collectGarbage?.().catch((err: unknown) => log.warn({ err }, "collecting network garbage failed"));
  };
  // Leftovers of containers gone while no agent watched (a crash, a lost state dir) go before any port is picked.
  await collect();
  const gc = setInterval(() => void collect(), opts.gcEveryMs ?? 60_000);
  gc.unref();
  // The first pass re-adopts running containers and reports exits that happened while the agent was down; it runs
  // on the last persisted desired state, so workloads are kept even when the control plane is unreachable.
  await reconciler.tick();
  connection.start();
  const stats = startStatsCollector({
    backend: opts.backend,
    sink: connection,
    log: log.child({ component: "stats" }),
    intervalMs: opts.statsIntervalMs,
  });
  let stopped = false;
  let loop: NodeJS.Timeout | undefined;
  const schedule = () => {
    loop = setTimeout(() => {
      reconciler
        .tick()
        .catch((err: unknown) => log.error({ err }, "reconcile pass failed"))
        .finally(() => {
          if (!stopped) schedule();
        });
    }, opts.tickMs ?? 1000);
  };
  schedule();
  return {
    reconciler,
    connection,
    stop: async () => {
      stopped = true;
      clearTimeout(loop);
      clearInterval(gc);
      stats.stop();
      execs.closeAll();
      connection.close();
      await reconciler.tick().catch(() => undefined);
      await logs.stop();
    },
  };
}
