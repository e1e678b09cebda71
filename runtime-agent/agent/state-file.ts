// The agent's local state (last desired state + what it knows per instance), written atomically so a kill -9 at any
// moment leaves either the old or the new file, never a torn one.
import fs from "node:fs/promises";
import path from "node:path";
import { z } from "zod";
import { DesiredState } from "../protocol/desired-state.ts";
import { InstanceState } from "../protocol/notifications.ts";

/** What the agent remembers about one instance between restarts. */
export const InstanceRecord = z.object({
  id: z.string(),
  app: z.string(),
  release: z.string(),
  processType: z.string(),
  specHash: z.string(),
  state: InstanceState,
  hostPort: z.int().optional(),
  /** Total restarts reported to the control plane. */
  restarts: z.int().min(0).default(0),
  /** Backoff step for the next restart (reset after a long healthy run). */
  backoffStep: z.int().min(0).default(0),
  exitCode: z.int().optional(),
  reason: z.string().optional(),
  /** Epoch ms: container started, became healthy, may be restarted. */
  startedAt: z.number().optional(),
  healthySince: z.number().optional(),
  nextRestartAt: z.number().optional(),
  /** Container pid last seen running (re-adoption keeps it). */
  pid: z.int().optional(),
  /** No restart will happen (policy `never`, or `on-failure` after exit 0). */
  terminal: z.boolean().default(false),
});
export type InstanceRecord = z.infer<typeof InstanceRecord>;

/** The whole state file. */
export const AgentState = z.object({
  version: z.literal(1),
  nodeId: z.string().optional(),
  desired: DesiredState,
  instances: z.array(InstanceRecord),
  /**
   * Set (never persisted) when the file held a desired state of an older protocol that this agent cannot run (e.g.
   * specs without `team`): the agent keeps its containers until the control plane sends a new desired state.
   */
  legacyDesired: z.literal(true).optional(),
});
export type AgentState = z.infer<typeof AgentState>;

/** A state file whose desired state does not parse under this protocol (written by an older agent). */
const LegacyAgentState = AgentState.extend({
  desired: z.object({ generation: z.int().min(0), instances: z.array(z.object({ id: z.string() }).passthrough()) }),
});

/** An empty state: nothing desired yet. */
export function emptyState(): AgentState {
  return { version: 1, desired: { generation: 0, instances: [] }, instances: [] };
}

/** Reads and validates the state file at `file`; a missing file is an empty state, a corrupt one throws. */
export async function loadState(file: string): Promise<AgentState> {
  let text: string;
  try {
    text = await fs.readFile(file, "utf8");
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ENOENT") return emptyState();
    throw err;
  }
  const json: unknown = JSON.parse(text);
  const parsed = AgentState.safeParse(json);
  if (parsed.success) return parsed.data;
  // An upgrade (protocol v1 -> v2): the old specs cannot be run, but their containers must not be stopped either.
  const legacy = LegacyAgentState.safeParse(json);
  if (legacy.success && legacy.data.desired.instances.length > 0) {
    const { desired, ...rest } = legacy.data;
    return { ...rest, desired: { generation: desired.generation, instances: [] }, legacyDesired: true };
  }
  throw new Error(`corrupt agent state file ${file}: ${parsed.error.message}`, { cause: parsed.error });
}

let seq = 0;

/** Writes the state: temp file in the same directory, fsync, rename over the old file, fsync the directory. */
export async function saveState(file: string, state: AgentState): Promise<void> {
  const dir = path.dirname(file);
  await fs.mkdir(dir, { recursive: true, mode: 0o700 });
  const tmp = path.join(dir, `.${path.basename(file)}.${process.pid}.${++seq}.tmp`);
  const handle = await fs.open(tmp, "w", 0o600);
  try {
    await handle.writeFile(JSON.stringify(state));
    await handle.sync();
  } finally {
    await handle.close();
  }
  await fs.rename(tmp, file);
  const dirHandle = await fs.open(dir, "r");
  try {
    await dirHandle.sync();
  } finally {
    await dirHandle.close();
  }
}
