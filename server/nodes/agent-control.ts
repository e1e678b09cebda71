// A seam so node and join-token changes (remove a node, revoke a token) can close agent sockets at once without
// importing the agent hub (which imports them: a cycle). Built once in control-plane.ts (services.agentControl);
// the hub connects itself to it when it is created.

/** What the agent hub offers to the rest of the control plane. */
export interface AgentControl {
  /** Closes the sockets of every agent that joined with this join token; returns how many were closed. */
  dropToken(tokenId: string): number;
  /** Closes the socket of this node's agent, if connected; nothing it still sends is stored. */
  dropNode(nodeId: string): boolean;
}

/** The control plane's AgentControl; without a hub (API-only tools) no agent is connected, so nothing is closed. */
export class AgentControlSeam implements AgentControl {
  private hub: AgentControl | undefined;

  /** The agent hub of this control plane registers itself. */
  connect(hub: AgentControl): void {
    this.hub = hub;
  }

  dropToken(tokenId: string): number {
    return this.hub?.dropToken(tokenId) ?? 0;
  }

  dropNode(nodeId: string): boolean {
    return this.hub?.dropNode(nodeId) ?? false;
  }
}
