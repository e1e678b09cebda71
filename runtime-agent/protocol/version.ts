// The wire protocol version; bump on any incompatible change to a schema in this folder.
// v2: InstanceSpec.team (required), for the node's network policy.

/** Current agent <-> control plane protocol version. */
export const PROTOCOL_VERSION = 2;
