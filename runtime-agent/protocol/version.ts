// The wire protocol version; bump on any incompatible change to a schema in this folder.
// 2: InstanceSpec.team (required), limits.diskBytes and limits.bandwidthBitsPerSec, RegisterParams.userNamespaces.

/** Current agent <-> control plane protocol version. */
export const PROTOCOL_VERSION = 2;
