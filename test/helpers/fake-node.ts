// An in-process node agent on the FakeBackend joined to a test server: the scheduler's desired states reach it over
// the real agent WebSocket, and tests read what it was told through its backend and its health prober.
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { startAgent, type Agent } from "../../runtime-agent/agent/agent.ts";
import type { Prober } from "../../runtime-agent/agent/health.ts";
import { silentLogger } from "../../runtime-agent/log.ts";
import { PROTOCOL_VERSION } from "../../runtime-agent/protocol/index.ts";
import { FakeBackend } from "../../runtime-agent/runtime/fake-backend.ts";
import type { TestServer } from "./server.ts";
import { until } from "./until.ts";

export interface FakeNode {
  name: string;
  /** The node's id in the control plane. */
  id: string;
  agent: Agent;
  backend: FakeBackend;
  /** Stops the agent and removes its state directory. */
  stop(): Promise<void>;
}

/**
 * Starts an agent named `name` with `joinToken` and waits until the control plane has it `ready`. `probe` answers
 * its health checks (default: always healthy); `backend` defaults to a FakeBackend that accepts any image;
 * `userNamespaces` is the isolation mode it reports (default on).
 */
export async function startFakeNode(
  srv: TestServer,
  opts: {
    name: string;
    joinToken: string;
    backend?: FakeBackend;
    probe?: Prober;
    statsIntervalMs?: number;
    userNamespaces?: boolean;
  },
): Promise<FakeNode> {
  const stateDir = fs.mkdtempSync(path.join(os.tmpdir(), "berth-fake-node-"));
  const backend = opts.backend ?? new FakeBackend();
  const agent = await startAgent({
    controlPlane: srv.url,
    joinToken: opts.joinToken,
    stateDir,
    backend,
    log: silentLogger(),
    tickMs: 100,
    ...(opts.statsIntervalMs ? { statsIntervalMs: opts.statsIntervalMs } : {}),
    probe: opts.probe ?? (async () => true),
    register: async () => ({
      protocolVersion: PROTOCOL_VERSION,
      hostname: opts.name,
      address: "127.0.0.1",
      cpus: 4,
      memoryBytes: 8 * 1024 ** 3,
      diskBytes: 50 * 1024 ** 3,
      kernel: "6.1.0-test",
      cgroupVersion: 2,
      userNamespaces: opts.userNamespaces ?? true,
      agentVersion: "0.1.0",
    }),
  });
  const id = await until(
    `${opts.name} registered`,
    async () => {
      const n = await srv.cp.services.db.node.findUnique({ where: { name: opts.name } });
      return n?.state === "ready" && n.id;
    },
    20_000,
    50,
  );
  return {
    name: opts.name,
    id,
    agent,
    backend,
    stop: async () => {
      await agent.stop();
      fs.rmSync(stateDir, { recursive: true, force: true });
    },
  };
}
