// Types the Services bag (context.ts) names that belong to a room above it: the platform registry's address
// (registry/) and the publishing side of the stream fan-out (ws/). They live here, below context.ts and importing
// nothing, so context.ts, the domain code and those rooms all point down to this file and no arrow points back up.

/** Address and credentials of the platform image registry (registry/registry.ts runs it). */
export interface RegistryInfo {
  /** host:port clients push to and pull from. */
  host: string;
  username: string;
  password: string;
}

/** The live channels of an app (ws/channels.ts says who may subscribe to each). */
export const CHANNELS = ["logs", "stats", "events", "builds"] as const;
export type Channel = (typeof CHANNELS)[number];

/** What domain code does with the stream fan-out (ws/hub.ts): publish a message to an app's channel. */
export interface StreamPublisher {
  publish(appId: string, channel: Channel, data: unknown): void;
}
