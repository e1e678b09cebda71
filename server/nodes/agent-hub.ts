// The agent endpoint (/api/v1/agent): join-token auth on the handshake, one session per node, heartbeats that mark
// silent nodes down, and setDesiredState() for the scheduler (level-triggered: always the full set).
import { EventEmitter } from "node:events";
import type { IncomingMessage } from "node:http";
import type { Duplex } from "node:stream";
import { WebSocketServer } from "ws";
import {
  DesiredState,
  type InstanceEvent,
  type InstanceSpecInput,
  type LogBatch,
  MAX_FRAME_BYTES,
  type StatsBatch,
} from "../../runtime-agent/protocol/index.ts";
import type { Services } from "../context.ts";
import { errors } from "../errors.ts";
import { AgentSession } from "./agent-session.ts";
import { verifyJoinToken } from "./join-tokens.ts";
import { InstanceEventWriter } from "./event-writer.ts";
import { markNodeDown, touchNodes } from "./registry.ts";

/** Path agents connect to. */
export const AGENT_PATH = "/api/v1/agent";
const DEFAULT_HEARTBEAT_MS = 10_000;
/** A Host header usable as an image registry host (name or IPv4 with optional port; bracketed IPv6). */
const PULL_HOST = /^(?:[a-z0-9](?:[a-z0-9.-]{0,251}[a-z0-9])?|\[[0-9a-f:.]{2,45}\])(?::[0-9]{1,5})?$/;

/** Result of setDesiredState: what the node acknowledged, or `delivered: false` when it is not connected. */
export type DesiredStateOutcome =
  { delivered: true; generation: number; changed: boolean } | { delivered: false; generation: number };

/**
 * Owns every agent connection of this control plane. Events: `registered`, `down` (node id), `event` (node id,
 * InstanceEvent), `logs` ({nodeId, teamId}, LogBatch), `stats` ({nodeId, teamId}, StatsBatch). Listeners of `logs`
 * must check that the batch's app belongs to the node's team (teamId null = shared node, any app).
 */
export class AgentHub extends EventEmitter {
  private readonly wss = new WebSocketServer({ noServer: true, maxPayload: MAX_FRAME_BYTES });
  private readonly sessions = new Map<string, AgentSession>();
  private readonly desired = new Map<string, DesiredState>();
  /** host[:port] each node reached this control plane at; it pulls platform images there (`/v2/`, pull-proxy.ts). */
  private readonly pullHosts = new Map<string, string>();
  private readonly heartbeat: NodeJS.Timeout;
  /** Instance events of all nodes, stored in batches; `event` is emitted for each once it is stored. */
  private readonly events: InstanceEventWriter;

  constructor(
    private readonly s: Services,
    private readonly heartbeatMs = DEFAULT_HEARTBEAT_MS,
  ) {
    super();
    this.events = new InstanceEventWriter(s, (nodeId, event) => this.emit("event", nodeId, event));
    this.heartbeat = setInterval(() => this.sweep(), heartbeatMs);
    this.heartbeat.unref();
  }

  /** Completes (or refuses with 401) an agent's WebSocket handshake. */
  handleUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer): void {
    const bearer = /^Bearer\s+(\S+)$/i.exec(req.headers.authorization ?? "")?.[1] ?? "";
    verifyJoinToken(this.s.db, bearer).then(
      (token) => {
        if (!token) {
          socket.end("HTTP/1.1 401 Unauthorized\r\nConnection: close\r\nContent-Length: 0\r\n\r\n");
          return;
        }
        const host = (req.headers.host ?? "").toLowerCase();
        this.wss.handleUpgrade(req, socket, head, (ws) => {
          const session = new AgentSession(ws, token.teamId, this.s, this.hooks, this.heartbeatMs);
          if (PULL_HOST.test(host)) session.pullHost = host;
        });
      },
      (err: unknown) => {
        this.s.log.error({ err }, "agent upgrade failed");
        socket.end("HTTP/1.1 500 Internal Server Error\r\nConnection: close\r\nContent-Length: 0\r\n\r\n");
      },
    );
  }

  /**
   * Where the node pulls platform images from: the host its agent connected to (the control plane serves a read-only
   * registry at /v2/ there). Undefined until the node registered with this control plane; it is kept while the node
   * is away so specs stay identical (a changed image ref would make the agent replace the container).
   */
  pullHost(nodeId: string): string | undefined {
    return this.pullHosts.get(nodeId);
  }

  /** True when the node's agent is connected and registered. */
  isConnected(nodeId: string): boolean {
    return this.sessions.has(nodeId);
  }

  /** Sets the full desired set of a node, sends it if the node is connected; re-sent on every (re)registration. */
  async setDesiredState(nodeId: string, instances: InstanceSpecInput[]): Promise<DesiredStateOutcome> {
    // Generations only grow, also across control-plane restarts (the agent ignores a smaller one).
    const previous = this.desired.get(nodeId)?.generation ?? 0;
    const parsed = DesiredState.safeParse({ generation: Math.max(Date.now(), previous + 1), instances });
    if (!parsed.success) throw errors.validation(parsed.error.issues[0]?.message ?? "invalid desired state");
    this.desired.set(nodeId, parsed.data);
    const session = this.sessions.get(nodeId);
    if (!session) return { delivered: false, generation: parsed.data.generation };
    const r = await session.request("node.applyDesiredState", parsed.data);
    return { delivered: true, ...r };
  }

  /** Asks a connected node what it runs. */
  async observedState(nodeId: string) {
    const session = this.sessions.get(nodeId);
    if (!session) throw errors.unavailable("node is not connected");
    return (await session.request("node.observedState", {})).instances;
  }

  /** Tells agents to reconnect (the control plane restarts) and closes every connection. */
  close(): void {
    clearInterval(this.heartbeat);
    for (const session of this.sessions.values()) {
      session.ws.send(JSON.stringify({ method: "node.reconnect", params: {} }));
      session.ws.close(1012, "control plane restarting");
    }
  }

  private readonly hooks = {
    registered: (session: AgentSession) => {
      const nodeId = session.nodeId as string;
      const old = this.sessions.get(nodeId);
      this.sessions.set(nodeId, session);
      if (session.pullHost) this.pullHosts.set(nodeId, session.pullHost);
      old?.ws.terminate();
      this.emit("registered", nodeId);
      const desired = this.desired.get(nodeId);
      if (desired) {
        session
          .request("node.applyDesiredState", desired)
          .catch((err: unknown) => this.s.log.warn({ err, node: nodeId }, "re-sending desired state failed"));
      }
    },
    closed: (session: AgentSession) => {
      const nodeId = session.nodeId;
      if (!nodeId || this.sessions.get(nodeId) !== session) return;
      this.sessions.delete(nodeId);
      markNodeDown(this.s.db, nodeId)
        .then(() => this.emit("down", nodeId))
        .catch((err: unknown) => this.s.log.error({ err, node: nodeId }, "marking node down failed"));
    },
    event: (session: AgentSession, event: InstanceEvent) =>
      this.events.add({ id: session.nodeId as string, teamId: session.teamId }, event),
    logs: (session: AgentSession, batch: LogBatch) =>
      this.emit("logs", { nodeId: session.nodeId, teamId: session.teamId }, batch),
    stats: (session: AgentSession, batch: StatsBatch) =>
      this.emit("stats", { nodeId: session.nodeId, teamId: session.teamId }, batch),
  };

  private sweep(): void {
    const now = Date.now();
    const alive: string[] = [];
    for (const [nodeId, session] of this.sessions) {
      if (now - session.lastHeard > 2 * this.heartbeatMs) {
        this.s.log.warn({ node: nodeId }, "agent silent; dropping it");
        session.ws.terminate();
        continue;
      }
      session.ws.ping();
      alive.push(nodeId);
    }
    if (alive.length === 0) return;
    touchNodes(this.s.db, alive).catch((err: unknown) => this.s.log.warn({ err, nodes: alive.length }, "touch failed"));
  }
}

const hubs = new WeakMap<Services, AgentHub>();

/** The agent hub of a control plane (one per Services). */
export function agentHubFor(s: Services): AgentHub {
  let hub = hubs.get(s);
  if (!hub) {
    hub = new AgentHub(s);
    hubs.set(s, hub);
  }
  return hub;
}
