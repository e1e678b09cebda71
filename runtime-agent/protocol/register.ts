// Registration: what a node tells the control plane about itself right after it connects.
import { z } from "zod";
import { Hostname, NodeId } from "./names.ts";
import { AGENT_FEATURES, PROTOCOL_VERSION } from "./version.ts";

/** Params of `node.register` (agent -> control plane). The join token travels in the WebSocket handshake. */
export const RegisterParams = z.strictObject({
  protocolVersion: z.literal(PROTOCOL_VERSION),
  hostname: Hostname,
  /** Address other hosts and the router use to reach mapped ports on this node. */
  address: z.union([z.ipv4(), z.ipv6()]),
  cpus: z.int().min(1).max(4096),
  memoryBytes: z.int().min(0),
  diskBytes: z.int().min(0),
  kernel: z.string().min(1).max(256),
  cgroupVersion: z.union([z.literal(1), z.literal(2)]),
  /** True when containers run in user namespaces (container root is an unprivileged host id); off by node setting. */
  userNamespaces: z.boolean(),
  /**
   * Optional protocol features this agent understands (additive, no version bump): "ingress" = DesiredState.ingress
   * (per-app network restrictions). The control plane sends a feature's fields only to agents that list it.
   */
  features: z.array(z.enum(AGENT_FEATURES)).max(16).optional(),
  agentVersion: z.string().regex(/^\d+\.\d+\.\d+(?:[-+][0-9A-Za-z.-]{1,64})?$/, { message: "invalid version" }),
});
export type RegisterParams = z.infer<typeof RegisterParams>;

/** Result of `node.register`. */
export const RegisterResult = z.strictObject({
  nodeId: NodeId,
  /** How often each side pings; the peer is dropped after missing two. */
  heartbeatMs: z.int().min(1_000).max(120_000),
});
export type RegisterResult = z.infer<typeof RegisterResult>;
