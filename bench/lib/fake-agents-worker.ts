// Child process of bench/reconcile.ts: hosts a share of the fake nodes, each a real agent (startAgent: connection,
// reconciler, state file, log shipper, stats) on the FakeBackend with a small simulated container start/stop latency
// and an always-healthy probe. Running outside the control plane's process, the agents do not steal its event loop.
// Talks to the parent over the IPC channel:
//   parent -> worker: { type: "start", ...WorkerStart }, then { type: "stop" }
//   worker -> parent: { type: "ready" } once every agent started, { type: "running", count, hash } whenever the set of
//   running containers changed (hash: sha1 of the sorted `node-name/instance-id` lines), { type: "stopped" }.
// Exits on its own when the parent goes away (IPC disconnect), after stopping its agents.
import crypto from "node:crypto";
import fs from "node:fs";
import path from "node:path";
import { startAgent, type Agent } from "../../runtime-agent/agent/agent.ts";
import { silentLogger } from "../../runtime-agent/log.ts";
import { PROTOCOL_VERSION } from "../../runtime-agent/protocol/index.ts";
import type {
  ContainerConfigInput,
  ContainerInfo,
  RuntimeBackend,
  Signal,
} from "../../runtime-agent/runtime/backend.ts";
import { FakeBackend } from "../../runtime-agent/runtime/fake-backend.ts";

/** What the parent sends to start this worker's agents. */
export interface WorkerStart {
  controlPlane: string;
  joinToken: string;
  /** Node names (hostnames) this worker runs, and the address each one registers with. */
  nodes: { name: string; address: string }[];
  /** Directory for the agents' state dirs (owned and removed by the parent). */
  dir: string;
  tickMs: number;
  /** Simulated backend latency per call (ms); the FakeBackend itself answers at once. */
  latency: { create: number; start: number; stop: number; delete: number };
}

export type WorkerMessage =
  | { type: "ready" }
  | { type: "running"; count: number; hash: string }
  /** Every 500 ms: CPU used since the start (ms) and the largest event-loop delay since the last report. */
  | { type: "load"; cpuMs: number; lagMaxMs: number }
  | { type: "inspect"; node: string; info: unknown }
  | { type: "stopped" }
  | { type: "error"; message: string };

/** Messages the parent sends. */
export type ParentMessage =
  ({ type: "start" } & WorkerStart) | { type: "inspect"; node: string; ids: string[] } | { type: "stop" };

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** The FakeBackend with a fixed delay before lifecycle calls, like a (fast) container engine. */
class SlowBackend implements RuntimeBackend {
  constructor(
    readonly fake: FakeBackend,
    private readonly latency: WorkerStart["latency"],
  ) {}
  async create(config: ContainerConfigInput): Promise<ContainerInfo> {
    await sleep(this.latency.create);
    return this.fake.create(config);
  }
  async start(id: string): Promise<void> {
    await sleep(this.latency.start);
    return this.fake.start(id);
  }
  async stop(id: string, graceMs: number): Promise<ContainerInfo> {
    await sleep(this.latency.stop);
    return this.fake.stop(id, graceMs);
  }
  kill(id: string, signal: Signal): Promise<void> {
    return this.fake.kill(id, signal);
  }
  async delete(id: string): Promise<void> {
    await sleep(this.latency.delete);
    return this.fake.delete(id);
  }
  state(id: string): Promise<ContainerInfo | null> {
    return this.fake.state(id);
  }
  stats(id: string): ReturnType<RuntimeBackend["stats"]> {
    return this.fake.stats(id);
  }
  list(): Promise<ContainerInfo[]> {
    return this.fake.list();
  }
}

const agents: { name: string; agent: Agent; backend: FakeBackend }[] = [];
let watcher: NodeJS.Timeout | undefined;
let loadTimer: NodeJS.Timeout | undefined;
let stopping: Promise<void> | undefined;

function send(m: WorkerMessage): void {
  if (process.connected) process.send?.(m);
}

async function start(opts: WorkerStart): Promise<void> {
  for (const node of opts.nodes) {
    const stateDir = path.join(opts.dir, node.name);
    fs.mkdirSync(stateDir, { recursive: true });
    const backend = new FakeBackend();
    const agent = await startAgent({
      controlPlane: opts.controlPlane,
      joinToken: opts.joinToken,
      stateDir,
      backend: new SlowBackend(backend, opts.latency),
      log: silentLogger(),
      tickMs: opts.tickMs,
      probe: async () => true,
      register: async () => ({
        protocolVersion: PROTOCOL_VERSION,
        hostname: node.name,
        address: node.address,
        cpus: 64,
        memoryBytes: 256 * 1024 ** 3,
        diskBytes: 500 * 1024 ** 3,
        kernel: "6.1.0-bench",
        cgroupVersion: 2,
        userNamespaces: true,
        agentVersion: "0.1.0",
      }),
    });
    agents.push({ name: node.name, agent, backend });
  }
  send({ type: "ready" });
  // This process's own load, so the parent can tell a slow control plane from starved agents.
  let last = performance.now();
  let lagMax = 0;
  let ticks = 0;
  loadTimer = setInterval(() => {
    const now = performance.now();
    lagMax = Math.max(lagMax, now - last - 50);
    last = now;
    if (++ticks % 10 === 0) {
      const cpu = process.cpuUsage();
      send({ type: "load", cpuMs: (cpu.user + cpu.system) / 1000, lagMaxMs: Math.max(0, lagMax) });
      lagMax = 0;
    }
  }, 50);
  // Report the running set when it changes (a count and a digest, so the parent's event loop does little work).
  let lastHash = "";
  const report = async () => {
    const lines: string[] = [];
    for (const a of agents) {
      for (const c of await a.backend.list()) if (c.status === "running") lines.push(`${a.name}/${c.id}`);
    }
    lines.sort();
    const hash = crypto.createHash("sha1").update(lines.join("\n")).digest("hex");
    if (hash !== lastHash) {
      lastHash = hash;
      send({ type: "running", count: lines.length, hash });
    }
  };
  const loop = () => {
    watcher = setTimeout(() => {
      report()
        .catch((err: unknown) => send({ type: "error", message: String(err) }))
        .finally(() => {
          if (!stopping) loop();
        });
    }, 20);
  };
  loop();
}

function stop(): Promise<void> {
  stopping ??= (async () => {
    clearTimeout(watcher);
    clearInterval(loadTimer);
    await Promise.all(agents.map((a) => a.agent.stop().catch(() => undefined)));
    send({ type: "stopped" });
  })();
  return stopping;
}

/** What one agent wants and runs for some instances (diagnostics for a change that does not converge). */
async function inspect(node: string, ids: string[]): Promise<unknown> {
  const a = agents.find((x) => x.name === node);
  if (!a) return { error: "no such node here" };
  const observed = new Map(a.agent.reconciler.observed().map((o) => [o.id, o.state]));
  const containers = new Map((await a.backend.list()).map((c) => [c.id, c.status]));
  const desired = (a.agent.reconciler as unknown as { desired: { instances: { id: string }[] } }).desired.instances;
  const wanted = new Set(desired.map((i) => i.id));
  return {
    registered: a.agent.connection.isRegistered,
    generation: a.agent.reconciler.generation,
    desired: desired.length,
    instances: ids.map((id) => ({
      id,
      desired: wanted.has(id),
      observed: observed.get(id),
      container: containers.get(id),
    })),
  };
}

process.on("message", (m: ParentMessage) => {
  if (m.type === "inspect") {
    inspect(m.node, m.ids).then(
      (info) => send({ type: "inspect", node: m.node, info }),
      (err: unknown) => send({ type: "inspect", node: m.node, info: { error: String(err) } }),
    );
  } else if (m.type === "start") {
    start(m).catch((err: unknown) => {
      send({ type: "error", message: err instanceof Error ? (err.stack ?? err.message) : String(err) });
    });
  } else if (m.type === "stop") {
    void stop().finally(() => process.disconnect());
  }
});
// The parent died or let go: stop the agents (their sockets) and exit; the parent removes the state dirs.
process.on("disconnect", () => {
  void stop().finally(() => process.exit(0));
});
for (const sig of ["SIGINT", "SIGTERM"] as const) process.once(sig, () => void stop().finally(() => process.exit(0)));
