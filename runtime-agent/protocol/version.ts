// The wire protocol version; bump on any incompatible change to a schema in this folder.
// v2: InstanceSpec.team (required), for the node's network policy and per-team user namespaces; limits.diskBytes
// and limits.bandwidthBitsPerSec; RegisterParams.userNamespaces.
// v3: exec sessions (`instance.exec` and the exec.* notifications, exec.ts).

/** Current agent <-> control plane protocol version. */
export const PROTOCOL_VERSION = 3;
