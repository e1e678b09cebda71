// The wire protocol version; bump on any incompatible change to a schema in this folder.
// v2: InstanceSpec.team (required), for the node's network policy and per-team user namespaces; limits.diskBytes
// and limits.bandwidthBitsPerSec; RegisterParams.userNamespaces.

/** Current agent <-> control plane protocol version. */
export const PROTOCOL_VERSION = 2;
