// The app logs of a control plane, built once in control-plane.ts (services.logs): the store on disk and the
// short-lived cache of apps by name that ingest looks up (agents send app names; without it every batch queries).
import path from "node:path";
import type { Config } from "../config.ts";
import { LogStore } from "./store.ts";

export interface CachedApp {
  app: { id: string; name: string; teamId: string } | null;
  until: number;
}

export class AppLogs {
  readonly store: LogStore;
  /** Apps by name with when the entry expires (ingest.ts). */
  readonly apps = new Map<string, CachedApp>();

  constructor(config: Pick<Config, "dataDir"> & { appLogBytes?: number }) {
    // Two segments: the cap is what stays readable (at least half of it just after a rotation).
    const cap = config.appLogBytes ?? 16 * 1024 * 1024;
    this.store = new LogStore(path.join(config.dataDir, "logs"), {
      segmentBytes: Math.max(4096, Math.floor(cap / 2)),
      segments: 2,
    });
  }
}
