// A seam so node and join-token changes (remove a node, revoke a token) can close agent sockets at once without
// importing the agent hub (which imports them: a cycle). The hub registers itself when it is created.
import type { Services } from "../context.ts";

/** What the agent hub offers to the rest of the control plane. */
export interface AgentControl {
  /** Closes the sockets of every agent that joined with this join token; returns how many were closed. */
  dropToken(tokenId: string): number;
  /** Closes the socket of this node's agent, if connected; nothing it still sends is stored. */
  dropNode(nodeId: string): boolean;
}

const controls = new WeakMap<Services, AgentControl>();

/** Registers the agent hub of this control plane. */
export function setAgentControl(s: Services, control: AgentControl): void {
  controls.set(s, control);
}

/** The agent hub of this control plane, if one exists (API-only tools may have none: then no agent is connected). */
export function agentControl(s: Services): AgentControl | undefined {
  return controls.get(s);
}
