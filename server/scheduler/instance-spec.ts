// What the agent is told to run for one instance, derived from its release and formation. Pure.
import crypto from "node:crypto";
import type { InstanceSpecInput } from "../../runtime-agent/protocol/index.ts";
import { parseVolumeMounts } from "./volume-placement.ts";

const MiB = 1024 * 1024;

/** The port web processes listen on inside their container (exported as PORT, like Heroku's). */
export const WEB_PORT = 5000;

export interface SpecRelease {
  version: number;
  imageRef: string;
  imageDigest: string;
  config: string;
  processTypes: string;
}

/** A new instance id: app, type and a random suffix, valid as a runc id, netns name and hostname (<= 63 chars). */
export function newInstanceId(app: string, type: string): string {
  const suffix = crypto.randomBytes(4).toString("hex");
  return `${app.slice(0, 30)}-${type.replace(/_/g, "-").slice(0, 20)}-${suffix}`.replace(/-+/g, "-");
}

/** The pull reference of a release image: platform images live in the platform registry at `registryHost`. */
export function pullRef(r: Pick<SpecRelease, "imageRef" | "imageDigest">, registryHost: string): string {
  const first = r.imageRef.split("/")[0] ?? "";
  const hasHost = r.imageRef.includes("/") && (first.includes(".") || first.includes(":") || first === "localhost");
  const repo = hasHost ? r.imageRef : `${registryHost}/${r.imageRef}`;
  return r.imageDigest ? `${repo.replace(/@sha256:[a-f0-9]{64}$/, "")}@${r.imageDigest}` : repo;
}

/** Limits of one instance as the formation states them (memory and disk in MiB, CPU in cores, bandwidth in Mbit/s). */
export interface SpecLimits {
  memoryMb: number;
  cpu: number;
  diskMb: number;
  bandwidthMbit: number;
  /** CPU request in cores (the instance's share of contended CPU on its node); absent: the agent uses the limit. */
  cpuRequest?: number;
}

/** Defaults of a process type's disk and bandwidth limits (the Formation columns' defaults). */
export const DEFAULT_DISK_MB = 1024;
export const DEFAULT_BANDWIDTH_MBIT = 100;

/** The app an instance belongs to: its name, and its team (the agent keys user-namespace id ranges on it). */
export interface SpecApp {
  name: string;
  teamId: string;
}

/** Web health check timings: probe often so a rollout moves on soon after the app listens. */
const WEB_CHECK = { intervalMs: 500, timeoutMs: 1000, startTimeoutMs: 60_000 } as const;

/**
 * A string that changes whenever instanceSpec's result for the same arguments would: the instance's fields it reads,
 * the app's name and team, the release (immutable but for its status, so its id stands for it), the limits, the
 * registry host and the one-off command. The scheduler compares these instead of building and encoding every spec at
 * every pass.
 */
export function specFingerprint(
  instance: { id: string; processType: string; healthCheckPath?: string | null; volumes?: string | null },
  app: SpecApp,
  release: { id: string },
  limits: SpecLimits,
  registryHost: string,
  oneOff?: { command: string },
): string {
  return (
    `${instance.id} ${release.id} ${app.name} ${app.teamId} ${registryHost} ${instance.processType} ` +
    `${instance.healthCheckPath ?? ""} ${limits.memoryMb} ${limits.cpu} ${limits.diskMb} ${limits.bandwidthMbit} ` +
    `${oneOff ? `run:${oneOff.command}` : ""}${instance.volumes ? ` ${instance.volumes}` : ""}`
  );
}

/**
 * The spec of one instance. Procfile commands (and one-off commands) run through the image's /bin/sh, as on Heroku;
 * "" = the image's CMD. A web instance is checked with an HTTP GET of its `healthCheckPath` (the app's setting when
 * it was created: a changed spec makes the agent recreate the container), else with a TCP connect to PORT. Its
 * volumes are the ones fixed on its row at placement (one-offs get none).
 */
export function instanceSpec(
  instance: { id: string; processType: string; healthCheckPath?: string | null; volumes?: string | null },
  { name: app, teamId }: SpecApp,
  release: SpecRelease,
  limits: SpecLimits,
  registryHost: string,
  oneOff?: { command: string },
): InstanceSpecInput {
  const processTypes = JSON.parse(release.processTypes) as Record<string, string>;
  const config = JSON.parse(release.config) as Record<string, string>;
  const command = oneOff ? oneOff.command : (processTypes[instance.processType] ?? "");
  const web = !oneOff && instance.processType === "web";
  const releaseName = `v${release.version}`;
  return {
    id: instance.id,
    team: teamId,
    app,
    release: releaseName,
    processType: instance.processType,
    image: pullRef(release, registryHost),
    ...(command ? { command: ["/bin/sh", "-c", command] } : {}),
    // The platform's variables come last: config vars never override them (config:set refuses them too, but an
    // older release's snapshot may predate that rule).
    env: {
      ...config,
      ...(web ? { PORT: String(WEB_PORT) } : {}),
      DYNO: instance.id,
      BERTH_APP: app,
      BERTH_RELEASE: releaseName,
      BERTH_PROCESS_TYPE: instance.processType,
      BERTH_INSTANCE: instance.id,
    },
    ...(web ? { port: WEB_PORT } : {}),
    limits: {
      memoryBytes: Math.max(4, Math.round(limits.memoryMb)) * MiB,
      cpuMillis: Math.max(10, Math.round(limits.cpu * 1000)),
      ...(limits.cpuRequest !== undefined
        ? { cpuRequestMillis: Math.max(1, Math.round(limits.cpuRequest * 1000)) }
        : {}),
      diskBytes: Math.max(16, Math.round(limits.diskMb)) * MiB,
      bandwidthBitsPerSec: Math.max(1, Math.round(limits.bandwidthMbit)) * 1_000_000,
    },
    healthCheck: !web
      ? { type: "none" }
      : instance.healthCheckPath
        ? { type: "http", path: instance.healthCheckPath, ...WEB_CHECK }
        : { type: "tcp", ...WEB_CHECK },
    // A one-off (`berth run`) runs once; its exit code is the answer.
    restartPolicy: oneOff ? "never" : "always",
    ...(!oneOff && instance.volumes ? { volumes: parseVolumeMounts(instance.volumes) } : {}),
  };
}
