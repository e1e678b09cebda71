// The files at the root of a pushed commit that the platform itself interprets (Procfile, Dockerfile,
// package.json, lockfiles, ...), read from git's objects rather than from the exported tree on the host: nothing
// the platform reads can be a symlink the kernel would follow to a host file. Such a file that is a symlink in the
// commit is refused with a message naming it, even when the link would stay inside the tree.
import type { ObjectEnv } from "../git/endpoint.ts";
import { isRegularFile, isSymlink, readBlob, rootEntries, BlobTooLargeError, type TreeEntry } from "../git/objects.ts";

/** A problem with the pushed files themselves: shown to the pusher as is, not logged as a server problem. */
export class SourceError extends Error {}

/** What the build needs from the pushed root files (a fake can stand in for it in unit tests). */
export interface SourceFiles {
  /** A file (or symlink) of that name is at the root of the commit: what build detection looks at. */
  has(name: string): boolean;
  /** Any entry (file, symlink, directory, submodule) of that name is at the root. */
  present(name: string): boolean;
  /** The file's text, null when absent; refuses symlinks, directories and files over `maxBytes`. */
  readText(name: string, maxBytes: number): Promise<string | null>;
  /** Refuses a symlink (or anything but a regular file) of that name, when there is one. */
  requireRegular(name: string): void;
}

/** The root of a pushed commit, read from the repository's objects (including the push's quarantined ones). */
export class PushedFiles implements SourceFiles {
  private constructor(
    private readonly repoDir: string,
    private readonly objectEnv: ObjectEnv,
    private readonly entries: Map<string, TreeEntry>,
  ) {}

  /** Lists the root of commit `rev`. */
  static async load(repoDir: string, rev: string, objectEnv: ObjectEnv): Promise<PushedFiles> {
    return new PushedFiles(repoDir, objectEnv, await rootEntries(repoDir, rev, objectEnv));
  }

  has(name: string): boolean {
    return this.entries.get(name)?.type === "blob";
  }

  present(name: string): boolean {
    return this.entries.has(name);
  }

  requireRegular(name: string): void {
    const e = this.entries.get(name);
    if (!e) return;
    if (isSymlink(e))
      throw new SourceError(
        `${name} is a symbolic link; Berth reads ${name} from the commit itself and never follows links: commit the file, not a link to it`,
      );
    if (!isRegularFile(e)) throw new SourceError(`${name} must be a regular file`);
  }

  async readText(name: string, maxBytes: number): Promise<string | null> {
    const e = this.entries.get(name);
    if (!e) return null;
    this.requireRegular(name);
    try {
      return (await readBlob(this.repoDir, e.oid, this.objectEnv, maxBytes)).toString("utf8");
    } catch (err) {
      if (err instanceof BlobTooLargeError)
        throw new SourceError(`${name} is larger than ${Math.round(maxBytes / 1024)} KiB`);
      throw err;
    }
  }
}
