// Reads a pushed commit's files straight from git's objects (`git ls-tree`, `git cat-file`), never through a
// checkout on the host filesystem: a symlink in the commit is an entry with mode 120000 here, not a path the kernel
// would follow. Used for the files the platform itself interprets (Procfile, package.json, Dockerfile, ...).
// Every call is an argv array with a timeout and an output cap; revisions and object ids are checked first.
import { OutputLimitError, runToolBuffer, ToolError } from "../process/run.ts";
import type { ObjectEnv } from "./endpoint.ts";

const OID = /^[0-9a-f]{40}$/;
const TIMEOUT_MS = 30_000;
/** ls-tree output of one directory level; a root with more entries than this fits is refused, not truncated. */
const MAX_TREE_BYTES = 16 * 1024 * 1024;

/** A pushed file is larger than the platform reads. */
export class BlobTooLargeError extends Error {}

export interface TreeEntry {
  /** git's mode: "100644"/"100755" regular file, "120000" symlink, "040000" directory, "160000" submodule. */
  mode: string;
  type: "blob" | "tree" | "commit";
  oid: string;
  name: string;
}

/** True for a regular file (not a symlink, directory or submodule). */
export function isRegularFile(e: TreeEntry | undefined): boolean {
  return e?.type === "blob" && (e.mode === "100644" || e.mode === "100755");
}

/** True for a symbolic link. */
export function isSymlink(e: TreeEntry | undefined): boolean {
  return e?.type === "blob" && e.mode === "120000";
}

/** Runs git on a repository (with the push's quarantine objects); resolves stdout, refusing more than `maxBytes`. */
async function gitOut(repoDir: string, args: string[], objectEnv: ObjectEnv, maxBytes: number): Promise<Buffer> {
  const env: Record<string, string> = {
    PATH: process.env.PATH ?? "/usr/bin:/bin",
    GIT_DIR: repoDir,
    GIT_CONFIG_NOSYSTEM: "1",
    HOME: repoDir,
    ...objectEnv,
  };
  try {
    return await runToolBuffer("git", args, {
      env: env as NodeJS.ProcessEnv,
      timeoutMs: TIMEOUT_MS,
      maxOutputBytes: maxBytes,
      name: `git ${args[0] ?? ""}`,
    });
  } catch (err) {
    if (err instanceof OutputLimitError) throw new BlobTooLargeError(`more than ${maxBytes} bytes`);
    throw err;
  }
}

/** Parses `git ls-tree -z` output. */
export function parseLsTree(out: Buffer): TreeEntry[] {
  const entries: TreeEntry[] = [];
  for (const rec of out.toString("utf8").split("\0")) {
    if (rec === "") continue;
    const tab = rec.indexOf("\t");
    const [mode, type, oid] = rec.slice(0, tab).split(" ");
    const name = rec.slice(tab + 1);
    if (tab < 0 || !mode || !oid || !OID.test(oid) || (type !== "blob" && type !== "tree" && type !== "commit"))
      throw new Error(`unexpected ls-tree line ${JSON.stringify(rec.slice(0, 200))}`);
    entries.push({ mode, type, oid, name });
  }
  return entries;
}

/** The entries at the root of commit `rev`'s tree, by name. */
export async function rootEntries(repoDir: string, rev: string, objectEnv: ObjectEnv): Promise<Map<string, TreeEntry>> {
  if (!OID.test(rev)) throw new Error("invalid revision");
  const out = await gitOut(repoDir, ["ls-tree", "-z", "--full-tree", `${rev}^{tree}`], objectEnv, MAX_TREE_BYTES);
  return new Map(parseLsTree(out).map((e) => [e.name, e]));
}

/** The content of blob `oid`; refuses (BlobTooLargeError) rather than truncating past `maxBytes`. */
export async function readBlob(repoDir: string, oid: string, objectEnv: ObjectEnv, maxBytes: number): Promise<Buffer> {
  if (!OID.test(oid)) throw new Error("invalid object id");
  return gitOut(repoDir, ["cat-file", "blob", oid], objectEnv, maxBytes);
}

/** The tree id of commit `rev`, or null when it is not a commit of the repository. */
export async function treeOf(repoDir: string, rev: string, objectEnv: ObjectEnv): Promise<string | null> {
  if (!OID.test(rev)) return null;
  try {
    return (
      (await gitOut(repoDir, ["rev-parse", "--verify", "--quiet", `${rev}^{tree}`], objectEnv, 4096))
        .toString()
        .trim() || null
    );
  } catch (err) {
    if (err instanceof ToolError) return null;
    throw err;
  }
}

/** The commit a ref (`refs/heads/...`) points at, or null when the ref does not exist. */
export async function refCommit(repoDir: string, ref: string): Promise<string | null> {
  if (!/^refs\/[A-Za-z0-9._/-]+$/.test(ref)) throw new Error("invalid ref");
  try {
    return (
      (await gitOut(repoDir, ["rev-parse", "--verify", "--quiet", `${ref}^{commit}`], {}, 4096)).toString().trim() ||
      null
    );
  } catch (err) {
    if (err instanceof ToolError) return null;
    throw err;
  }
}
