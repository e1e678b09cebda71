// The live fields of `GET /apps/{app}/addons/{addon}` (`berth addons:info`, the dashboard's Resources tab): the
// plan's connection cap, current connections and data size, asked from the running service by the control plane
// (server/addons/live.ts). Never credentials.
import { z } from "@hono/zod-openapi";

export const AddonLiveFields = {
  maxConnections: z.int().openapi({ description: "The plan's connection cap (max_connections / maxclients)" }),
  connections: z.int().nullable().openapi({
    description:
      "Client connections now (PostgreSQL: client backends in pg_stat_activity; Redis: connected_clients), not counting the control plane's own; null when the add-on does not answer now",
  }),
  dataBytes: z.int().nullable().openapi({
    description:
      "PostgreSQL: pg_database_size of the app's database; Redis: used_memory_dataset (bytes); null when not known now",
  }),
};
