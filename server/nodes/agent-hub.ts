// The agent endpoint (/api/v1/agent): join-token auth on the handshake, one session per node, heartbeats that mark
// silent nodes down, and setDesiredState() for the scheduler (level-triggered: always the full set). A revoked join
// token or a removed node closes the agent's socket at once (dropToken, dropNode via agent-control.ts).
import { EventEmitter } from "node:events";
import type { IncomingMessage } from "node:http";
import type { Duplex } from "node:stream";
import { WebSocketServer } from "ws";
import {
  DesiredState,
  type IngressRule,
  type InstanceEvent,
  type InstanceSpecInput,
  type LogBatch,
  MAX_FRAME_BYTES,
  type NotificationMethod,
  type NotificationParamsInput,
  type RequestMethod,
  type RequestParamsInput,
  type RequestResult,
  type StatsBatch,
} from "../../runtime-agent/protocol/index.ts";
import type { Services } from "../context.ts";
import { errors } from "../errors.ts";
import { normalizeIp } from "./address-policy.ts";
import { AgentSession, type ExecNotification } from "./agent-session.ts";
import { joinTokenValid, verifyJoinToken } from "./join-tokens.ts";
import { InstanceEventWriter } from "./event-writer.ts";
import { recordOomActivity } from "./oom-activity.ts";
import { markNodeDown, touchNodes } from "./node-registry.ts";
import { inBatches } from "../db/batches.ts";

/** Path agents connect to. */
export const AGENT_PATH = "/api/v1/agent";
const DEFAULT_HEARTBEAT_MS = 10_000;
/** A Host header usable as an image registry host (name or IPv4 with optional port; bracketed IPv6). */
const PULL_HOST = /^(?:[a-z0-9](?:[a-z0-9.-]{0,251}[a-z0-9])?|\[[0-9a-f:.]{2,45}\])(?::[0-9]{1,5})?$/;

/** Result of setDesiredState: what the node acknowledged, or `delivered: false` when it is not connected. */
/** What the hub uses of the control plane: built before the Services it then becomes a field of (`agents`). */
export type AgentHubDeps = Pick<Services, "db" | "log" | "config" | "agentControl">;

export type DesiredStateOutcome =
  { delivered: true; generation: number; changed: boolean } | { delivered: false; generation: number };

/**
 * Owns every agent connection of this control plane. Events: `registered`, `down` (node id), `event` (node id,
 * InstanceEvent), `logs` ({nodeId, teamId}, LogBatch), `stats` ({nodeId, teamId}, StatsBatch). Listeners of `logs`
 * must check that the batch's app belongs to the node's team (teamId null = shared node, any app). `exec` (node id,
 * ExecNotification): exec stream frames, which the exec broker matches to sessions it opened on that node.
 */
export class AgentHub extends EventEmitter {
  private readonly wss = new WebSocketServer({ noServer: true, maxPayload: MAX_FRAME_BYTES });
  private readonly sessions = new Map<string, AgentSession>();
  /** Connected sockets not registered yet (a revoked token must close these too). */
  private readonly pending = new Set<AgentSession>();
  private readonly desired = new Map<string, DesiredState>();
  /** host[:port] each node reached this control plane at; it pulls platform images there (`/v2/`, pull-proxy.ts). */
  private readonly pullHosts = new Map<string, string>();
  private readonly heartbeat: NodeJS.Timeout;
  /** Instance events of all nodes, stored in batches; `event` is emitted for each once it is stored. */
  private readonly events: InstanceEventWriter;

  constructor(
    private readonly s: AgentHubDeps,
    private readonly heartbeatMs = DEFAULT_HEARTBEAT_MS,
  ) {
    super();
    this.events = new InstanceEventWriter(s, (nodeId, event) => {
      this.emit("event", nodeId, event);
      recordOomActivity(s, nodeId, event).catch((err: unknown) =>
        s.log.warn({ err, instance: event.instanceId }, "recording an OOM kill on the timeline failed"),
      );
    });
    this.heartbeat = setInterval(() => this.sweep(), heartbeatMs);
    this.heartbeat.unref();
    s.agentControl.connect({ dropToken: (id) => this.dropToken(id), dropNode: (id) => this.dropNode(id) });
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
        // The address the node is routed to comes from the connection itself, never from a header or the agent's
        // register params (both are the client's to choose). Behind a proxy this is the proxy: set the node's address.
        const observed = normalizeIp(req.socket.remoteAddress) ?? "";
        this.wss.handleUpgrade(req, socket, head, (ws) => {
          const auth = {
            tokenId: token.id,
            teamId: token.teamId,
            local: token.local,
            expiresAt: token.expiresAt,
            observed,
          };
          const session = new AgentSession(ws, auth, this.s, this.hooks, this.heartbeatMs);
          this.pending.add(session);
          ws.once("close", () => this.pending.delete(session));
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
  async setDesiredState(
    nodeId: string,
    instances: InstanceSpecInput[],
    ingress: IngressRule[] = [],
  ): Promise<DesiredStateOutcome> {
    // Generations only grow, also across control-plane restarts (the agent ignores a smaller one).
    const previous = this.desired.get(nodeId)?.generation ?? 0;
    const parsed = DesiredState.safeParse({
      generation: Math.max(Date.now(), previous + 1),
      instances,
      ...(ingress.length > 0 ? { ingress } : {}),
    });
    if (!parsed.success) throw errors.validation(parsed.error.issues[0]?.message ?? "invalid desired state");
    this.desired.set(nodeId, parsed.data);
    const session = this.sessions.get(nodeId);
    if (!session) return { delivered: false, generation: parsed.data.generation };
    const r = await session.request("node.applyDesiredState", forSession(session, parsed.data));
    return { delivered: true, ...r };
  }

  /** Sends a request to a connected node (exec sessions); throws unavailable when it is not connected. */
  request<M extends RequestMethod>(
    nodeId: string,
    method: M,
    params: RequestParamsInput<M>,
    timeoutMs?: number,
  ): Promise<RequestResult<M>> {
    const session = this.sessions.get(nodeId);
    if (!session) return Promise.reject(errors.unavailable("the instance's node is not connected"));
    return session.request(method, params, timeoutMs);
  }

  /** Sends a notification to a connected node; false when it is not connected. */
  notify<M extends NotificationMethod>(nodeId: string, method: M, params: NotificationParamsInput<M>): boolean {
    return this.sessions.get(nodeId)?.notify(method, params) ?? false;
  }

  /** Asks a connected node what it runs. */
  async observedState(nodeId: string) {
    const session = this.sessions.get(nodeId);
    if (!session) throw errors.unavailable("node is not connected");
    return (await session.request("node.observedState", {})).instances;
  }

  /** The volumes a connected node holds, with their usage. */
  async volumeList(nodeId: string) {
    const session = this.sessions.get(nodeId);
    if (!session) throw errors.unavailable("node is not connected");
    return (await session.request("volume.list", {})).volumes;
  }

  /** Deletes a volume and its data on a connected node; `conflict` while an instance there mounts it. */
  async volumeDestroy(nodeId: string, id: string): Promise<boolean> {
    const session = this.sessions.get(nodeId);
    if (!session) throw errors.unavailable("node is not connected");
    return (await session.request("volume.destroy", { id })).existed;
  }

  /**
   * Closes every connection made with this join token (it was revoked), registered or not; the nodes go `down`.
   * Returns how many sockets were closed.
   */
  dropToken(tokenId: string): number {
    let n = 0;
    for (const session of [...this.pending, ...this.sessions.values()]) {
      if (session.auth.tokenId !== tokenId || session.dropped) continue;
      session.dropped = true;
      session.ws.close(4401, "join token revoked");
      // close() waits for the agent's answer; a silent agent must not keep its socket.
      setTimeout(() => session.ws.terminate(), 1_000).unref();
      n++;
    }
    return n;
  }

  /** Closes the socket of a node that is being removed; nothing it still sends is handled. */
  dropNode(nodeId: string): boolean {
    const session = this.sessions.get(nodeId);
    if (!session) return false;
    session.dropped = true;
    this.sessions.delete(nodeId);
    this.desired.delete(nodeId);
    this.pullHosts.delete(nodeId);
    session.ws.close(4404, "node removed");
    setTimeout(() => session.ws.terminate(), 1_000).unref();
    return true;
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
      this.pending.delete(session);
      this.sessions.set(nodeId, session);
      if (session.pullHost) this.pullHosts.set(nodeId, session.pullHost);
      old?.ws.terminate();
      this.emit("registered", nodeId);
      const desired = this.desired.get(nodeId);
      if (desired) {
        session
          .request("node.applyDesiredState", forSession(session, desired))
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
    exec: (session: AgentSession, frame: ExecNotification) => {
      // Only the registered session of a node speaks for it (a replaced socket's late frames are ignored).
      if (session.nodeId && this.sessions.get(session.nodeId) === session) this.emit("exec", session.nodeId, frame);
    },
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
      if (session.auth.expiresAt && session.auth.expiresAt.getTime() <= now) {
        this.s.log.warn({ node: nodeId }, "agent's join token expired; dropping it");
        this.dropToken(session.auth.tokenId);
        continue;
      }
      session.ws.ping();
      alive.push(nodeId);
    }
    this.recheckTokens().catch((err: unknown) => this.s.log.warn({ err }, "re-checking join tokens failed"));
    if (alive.length === 0) return;
    touchNodes(this.s.db, alive).catch((err: unknown) => this.s.log.warn({ err, nodes: alive.length }, "touch failed"));
  }

  /**
   * Backstop for revocations that did not go through revokeJoinToken (a token deleted with its team, a change made by
   * another process): connections whose token is gone or no longer valid are closed at the next heartbeat.
   */
  private async recheckTokens(): Promise<void> {
    const ids = [...new Set([...this.pending, ...this.sessions.values()].map((x) => x.auth.tokenId))];
    if (ids.length === 0) return;
    const valid = new Set<string>();
    for (const batch of inBatches(ids)) {
      const rows = await this.s.db.nodeJoinToken.findMany({
        where: { id: { in: batch } },
        select: { id: true, revokedAt: true, expiresAt: true },
      });
      for (const r of rows) if (joinTokenValid(r)) valid.add(r.id);
    }
    for (const id of ids) {
      if (valid.has(id)) continue;
      this.s.log.warn({ token: id }, "agent's join token is no longer valid; dropping its connections");
      this.dropToken(id);
    }
  }
}

/**
 * The desired state as this agent understands it: `ingress` only for agents that announced the feature (an older
 * agent refuses unknown fields; its add-ons then stay reachable by their whole team, docs/security.md).
 */
function forSession(session: AgentSession, desired: DesiredState): DesiredState {
  if (desired.ingress === undefined || session.features.includes("ingress")) return desired;
  const { ingress: _ingress, ...rest } = desired;
  return rest;
}
