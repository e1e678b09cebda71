// One agent: a reconciler over a runtime backend, a tick loop, and the connection that feeds it desired states.
import path from "node:path";
import type { Logger } from "pino";
import type { RegisterParams } from "../protocol/register.ts";
import type { RuntimeBackend } from "../runtime/backend.ts";
import { AgentConnection } from "./connection.ts";
import { type Prober, probe as realProbe } from "./health.ts";
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
}

/** A running agent. */
export interface Agent {
  reconciler: Reconciler;
  connection: AgentConnection;
  /** Stops the loop and the connection; containers keep running. */
  stop(): Promise<void>;
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
  const connection = new AgentConnection({
    url: opts.controlPlane,
    token: opts.joinToken,
    log: log.child({ component: "connection" }),
    handlers: {
      register: opts.register,
      registered: (r) => reconciler.setNodeId(r.nodeId),
      applyDesiredState: (state) => reconciler.apply(state),
      observedState: () => reconciler.observed(),
      ...(opts.backend.volumes ? { volumes: opts.backend.volumes } : {}),
    },
  });
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
    onEvent: (event) => {
      log.info({ instance: event.instanceId, state: event.state, reason: event.reason }, "instance event");
      connection.notify("instance.event", event);
    },
  });
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
      stats.stop();
      connection.close();
      await reconciler.tick().catch(() => undefined);
      await logs.stop();
    },
  };
}
