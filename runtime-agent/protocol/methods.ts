// The method table: for each method, who sends it, its params schema and (for requests) its result schema.
import { z } from "zod";
import { DesiredState, InstanceSpec } from "./desired-state.ts";
import {
  ExecAck,
  ExecClose,
  ExecExit,
  ExecInput,
  ExecOutput,
  ExecParams,
  ExecResize,
  ExecSessionId,
  ExecStarted,
} from "./exec.ts";
import { InstanceId, TeamId, VolumeId } from "./names.ts";
import { InstanceEvent, InstanceState, LogBatch, StatsBatch } from "./notifications.ts";
import { RegisterParams, RegisterResult } from "./register.ts";

/** What the node reports it is running, per instance. */
export const ObservedInstance = z.strictObject({
  id: InstanceId,
  state: InstanceState,
  generation: z.int().min(0),
  exitCode: z.int().min(0).max(255).optional(),
  hostPort: z.int().min(1).max(65_535).optional(),
  restarts: z.int().min(0),
});
export type ObservedInstance = z.infer<typeof ObservedInstance>;

/** Result of `node.applyDesiredState`: the generation the agent now converges to. */
export const ApplyResult = z.strictObject({ generation: z.int().min(0), changed: z.boolean() });
/** Result of `node.observedState`. */
export const ObservedState = z.strictObject({ instances: z.array(ObservedInstance) });
/** Params of `instance.run` (one-off command in a fresh container of a release). */
export const RunParams = z.strictObject({ instance: InstanceSpec, timeoutMs: z.int().min(1_000).max(86_400_000) });

/** One volume the node holds: its size limit and what its files use. */
export const VolumeUsage = z.strictObject({
  id: VolumeId,
  sizeBytes: z.int().min(0),
  usedBytes: z.int().min(0),
  /** Mounted on the node now (an instance uses it, or did since the node started). */
  mounted: z.boolean(),
});
export type VolumeUsage = z.infer<typeof VolumeUsage>;

/**
 * Params of `volume.archive` and `volume.extract`: a tar stream of the volume's files travels as an exec session
 * (`session`, the exec.* notifications and their flow control): out of the node for an archive, into it for an
 * extract. `team` must own the volume (the agent refuses another team's).
 */
export const VolumeStreamParams = z.strictObject({ session: ExecSessionId, id: VolumeId, team: TeamId });
export type VolumeStreamParams = z.infer<typeof VolumeStreamParams>;

/** Requests (answered with a response frame), keyed by method name. */
export const requests = {
  /** agent -> control plane, first frame after connecting. */
  "node.register": { params: RegisterParams, result: RegisterResult },
  /** control plane -> agent: the full set of instances to run. */
  "node.applyDesiredState": { params: DesiredState, result: ApplyResult },
  /** control plane -> agent: what is running now. */
  "node.observedState": { params: z.strictObject({}), result: ObservedState },
  /** control plane -> agent: start an exec session in a running instance (streams: the exec.* notifications). */
  "instance.exec": { params: ExecParams, result: ExecStarted },
  // Volumes (added within v2; an older agent answers unknown_method). Creating a volume needs no request: the agent
  // makes it when the first instance that mounts it starts. Destroying is only ever explicit, never by omission.
  /** control plane -> agent: every volume on the node with its usage. */
  "volume.list": { params: z.strictObject({}), result: z.strictObject({ volumes: z.array(VolumeUsage) }) },
  /** control plane -> agent: delete a volume and its data; `conflict` while an instance mounts it. */
  "volume.destroy": { params: z.strictObject({ id: VolumeId }), result: z.strictObject({ existed: z.boolean() }) },
  /**
   * control plane -> agent: stream a tar archive of the volume's files (stdout of the session), its instances
   * frozen while tar reads (additive within v3, docs/volumes.md "Backups").
   */
  "volume.archive": { params: VolumeStreamParams, result: ExecStarted },
  /**
   * control plane -> agent: replace the volume's files with the tar archive fed as the session's stdin; its
   * instances are frozen during the extract and killed before they thaw (their replacements see only the restore).
   */
  "volume.extract": { params: VolumeStreamParams, result: ExecStarted },
} as const;

/** Notifications (never answered), keyed by method name. */
export const notifications = {
  /** agent -> control plane: one lifecycle transition. */
  "instance.event": InstanceEvent,
  /** agent -> control plane: a batch of log lines of one instance. */
  "instance.logs": LogBatch,
  /** agent -> control plane: resource usage of every instance. */
  "node.stats": StatsBatch,
  /** control plane -> agent: the control plane is about to restart; reconnect without backoff. */
  "node.reconnect": z.strictObject({}),
  /** control plane -> agent: stdin bytes of an exec session. */
  "exec.input": ExecInput,
  /** control plane -> agent: new terminal size of an exec session. */
  "exec.resize": ExecResize,
  /** control plane -> agent: end an exec session (its process is killed). */
  "exec.close": ExecClose,
  /** control plane -> agent: output bytes of an exec session delivered to the client (flow-control credit). */
  "exec.outputAck": ExecAck,
  /** agent -> control plane: output bytes of an exec session. */
  "exec.output": ExecOutput,
  /** agent -> control plane: input bytes of an exec session written to the process (flow-control credit). */
  "exec.inputAck": ExecAck,
  /** agent -> control plane: an exec session ended. */
  "exec.exit": ExecExit,
} as const;

export type RequestMethod = keyof typeof requests;
export type NotificationMethod = keyof typeof notifications;
/** Params type of a request method. */
export type RequestParams<M extends RequestMethod> = z.infer<(typeof requests)[M]["params"]>;
/** Result type of a request method. */
export type RequestResult<M extends RequestMethod> = z.infer<(typeof requests)[M]["result"]>;
/** What a sender may put in a request's params (defaults still unapplied). */
export type RequestParamsInput<M extends RequestMethod> = z.input<(typeof requests)[M]["params"]>;
/** What a sender may put in a notification's params (defaults still unapplied). */
export type NotificationParamsInput<M extends NotificationMethod> = z.input<(typeof notifications)[M]>;
/** Params type of a notification method. */
export type NotificationParams<M extends NotificationMethod> = z.infer<(typeof notifications)[M]>;
