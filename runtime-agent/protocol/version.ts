// The wire protocol version; bump on any incompatible change to a schema in this folder.
// v2: InstanceSpec.team (required), for the node's network policy and per-team user namespaces; limits.diskBytes
// and limits.bandwidthBitsPerSec; RegisterParams.userNamespaces.
// v3: exec sessions (`instance.exec` and the exec.* notifications, exec.ts).
// Additive (no bump: nothing an older peer sends changes meaning, and specs that do not use the new fields hash as
// before): InstanceSpec.volumes and the volume.list/volume.destroy requests. An older agent refuses a desired state
// that uses them (unknown field) and answers volume.* with unknown_method.
// Additive as well: RegisterParams.features and DesiredState.ingress. An agent lists "ingress" in its features; the
// control plane sends `ingress` only to such agents, so an older agent keeps working (its add-ons stay reachable by
// every instance of their team, the boundary before per-app rules).
// Additive as well: volume.archive/volume.extract (volume backups, streamed as exec sessions); an older agent answers
// unknown_method and the control plane reports that the node cannot back volumes up.

/** Current agent <-> control plane protocol version. */
export const PROTOCOL_VERSION = 3;

/** Optional features an agent may announce in RegisterParams.features. */
export const AGENT_FEATURES = ["ingress"] as const;
