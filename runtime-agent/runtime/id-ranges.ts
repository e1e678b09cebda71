// Host id ranges for user namespaces: every team gets one block of BLOCK_SIZE host uids/gids (the same numbers for
// both) from the node's subordinate range, the first time one of its containers starts on the node. Blocks are
// persisted (temp file + rename) and never reassigned, so restarts and re-adopted containers keep their mapping and
// two teams never share a host id: a process escaping one team's container owns none of another team's files.
import fs from "node:fs/promises";
import path from "node:path";
import { z } from "zod";
import { TEAM_ID_PATTERN } from "../protocol/names.ts";
import { RuntimeError } from "./errors.ts";
import { KeyedLock } from "./keyed-lock.ts";

/** Ids per team: the 16-bit id space images are built for (root 0 ... nobody 65534). */
export const BLOCK_SIZE = 65_536;

/** The node-wide range blocks are cut from: `firstId` and the number of blocks. */
export interface IdRangeConfig {
  firstId: number;
  blocks: number;
}

/** One team's host ids: container id N maps to host id `hostId + N` for N < size. */
export interface IdRange {
  hostId: number;
  size: number;
}

const FileSchema = z.strictObject({
  version: z.literal(1),
  /** team id -> first host id of its block. */
  teams: z.record(z.string().regex(TEAM_ID_PATTERN), z.int().min(1)),
});

/** Parses `FIRST-LAST` (inclusive host ids) into whole blocks; throws a one-line message when unusable. */
export function parseIdRange(text: string): IdRangeConfig {
  const m = /^(\d{1,10})-(\d{1,10})$/.exec(text.trim());
  if (!m) throw new Error(`user namespace range must be FIRST-LAST (host ids), got ${JSON.stringify(text)}`);
  const first = Number(m[1]);
  const last = Number(m[2]);
  if (first < 65_536) throw new Error("user namespace range must start at 65536 or above (host users live below)");
  if (last > 0xfffffffe - 1) throw new Error("user namespace range must end below 4294967294");
  const blocks = Math.floor((last - first + 1) / BLOCK_SIZE);
  if (blocks < 1) throw new Error(`user namespace range must hold at least one block of ${BLOCK_SIZE} ids`);
  return { firstId: first, blocks };
}

/** Per-team blocks of host ids, persisted in one JSON file. */
export class IdRangeAllocator {
  private teams = new Map<string, number>();
  private readonly lock = new KeyedLock();

  private constructor(
    private readonly file: string,
    private readonly config: IdRangeConfig,
  ) {}

  /** Loads the allocations in `file` (missing = none yet); a corrupt file is an error, never silently reset. */
  static async open(file: string, config: IdRangeConfig): Promise<IdRangeAllocator> {
    const a = new IdRangeAllocator(file, config);
    const text = await fs.readFile(file, "utf8").catch((err: NodeJS.ErrnoException) => {
      if (err.code === "ENOENT") return null;
      throw err;
    });
    if (text !== null) {
      let parsed;
      try {
        parsed = FileSchema.safeParse(JSON.parse(text));
      } catch {
        parsed = null;
      }
      if (!parsed?.success)
        throw new RuntimeError("failed", `id range file ${file} is corrupt; fix or remove it (see docs/agent.md)`);
      a.teams = new Map(Object.entries(parsed.data.teams));
    }
    return a;
  }

  /** The team's block, allocating (and persisting) the lowest free one on first use. */
  async rangeFor(team: string): Promise<IdRange> {
    if (!TEAM_ID_PATTERN.test(team)) throw new RuntimeError("invalid", "invalid team id");
    return this.lock.run("allocate", async () => {
      const known = this.teams.get(team);
      if (known !== undefined) return { hostId: known, size: BLOCK_SIZE };
      // Blocks taken by earlier allocations count even when the configured range changed since.
      const taken = [...this.teams.values()];
      for (let b = 0; b < this.config.blocks; b++) {
        const start = this.config.firstId + b * BLOCK_SIZE;
        if (taken.some((t) => t < start + BLOCK_SIZE && start < t + BLOCK_SIZE)) continue;
        this.teams.set(team, start);
        try {
          await this.persist();
        } catch (err) {
          this.teams.delete(team);
          throw err;
        }
        return { hostId: start, size: BLOCK_SIZE };
      }
      throw new RuntimeError(
        "failed",
        `no free user namespace id range on this node (${this.config.blocks} blocks, all assigned); widen --userns-range`,
      );
    });
  }

  /** Current allocations (team -> first host id), for tests and diagnostics. */
  snapshot(): Record<string, number> {
    return Object.fromEntries(this.teams);
  }

  private async persist(): Promise<void> {
    await fs.mkdir(path.dirname(this.file), { recursive: true, mode: 0o700 });
    const tmp = `${this.file}.tmp`;
    const body = JSON.stringify({ version: 1, teams: Object.fromEntries(this.teams) }, null, 2);
    const handle = await fs.open(tmp, "w", 0o600);
    try {
      await handle.writeFile(body);
      await handle.sync();
    } finally {
      await handle.close();
    }
    await fs.rename(tmp, this.file);
  }
}
