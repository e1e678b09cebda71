// The wire protocol version; bump on any incompatible change to a schema in this folder.

/** Current agent <-> control plane protocol version. */
export const PROTOCOL_VERSION = 1;
