// The registry part of a backup: the manifests the registry still holds (pruning deletes those of releases past
// BERTH_KEEP_RELEASES, server/registry/prune.ts) and exactly the blobs they reference. Blobs left behind by pruning
// (reclaimed only at the registry's next start), upload sessions in progress and anything else are not copied.
//
// Layout of the distribution registry's filesystem driver under `<root>/docker/registry/v2`:
//   repositories/<name>/_manifests/revisions/sha256/<hex>/link   one per manifest the repository holds
//   repositories/<name>/_manifests/tags/<tag>/...                 tag -> digest
//   repositories/<name>/_layers/sha256/<hex>/link                 blobs the repository may serve
//   repositories/<name>/_uploads/...                              uploads in progress (not state)
//   blobs/sha256/<hex[0:2]>/<hex>/data                            content, shared by every repository
import fs from "node:fs/promises";
import path from "node:path";
import { copyFileIfPresent, copyTree } from "./copy-tree.ts";

const V2 = path.join("docker", "registry", "v2");
const DIGEST = /^sha256:[a-f0-9]{64}$/;

const blobPath = (root: string, digest: string) => {
  const hex = digest.slice("sha256:".length);
  return path.join(root, V2, "blobs", "sha256", hex.slice(0, 2), hex, "data");
};

/** Digests a manifest (or an index of manifests) references: config, layers, child manifests. */
function referencedDigests(manifest: unknown): { blobs: string[]; manifests: string[] } {
  const m = manifest as {
    config?: { digest?: unknown };
    layers?: { digest?: unknown }[];
    manifests?: { digest?: unknown }[];
  };
  const ok = (d: unknown): d is string => typeof d === "string" && DIGEST.test(d);
  return {
    blobs: [m.config?.digest, ...(m.layers ?? []).map((l) => l.digest)].filter(ok),
    manifests: (m.manifests ?? []).map((l) => l.digest).filter(ok),
  };
}

/** Repository names under `repositories/` (nested names like `team/app` included). */
async function repositories(reposDir: string, prefix = ""): Promise<string[]> {
  const out: string[] = [];
  const entries = await fs.readdir(path.join(reposDir, prefix), { withFileTypes: true }).catch(() => []);
  for (const e of entries) {
    if (!e.isDirectory() || e.name.startsWith("_")) continue;
    const name = prefix ? `${prefix}/${e.name}` : e.name;
    const inner = await fs.readdir(path.join(reposDir, name)).catch(() => [] as string[]);
    if (inner.includes("_manifests")) out.push(name);
    else out.push(...(await repositories(reposDir, name)));
  }
  return out;
}

/** What was copied: repository name -> the manifest digests it holds. */
export type CopiedImages = Map<string, Set<string>>;

/**
 * Copies the manifests and referenced blobs of registry storage `src` (the registry's `rootdirectory`) into `dst`.
 * A manifest whose blobs are not all readable (deleted by a prune between listing and copying) is left out.
 */
export async function copyRegistryImages(src: string, dst: string): Promise<CopiedImages> {
  const reposDir = path.join(src, V2, "repositories");
  const copied: CopiedImages = new Map();
  const copiedBlobs = new Set<string>();
  const copyBlob = async (digest: string) => {
    if (copiedBlobs.has(digest)) return true;
    const ok = await copyFileIfPresent(blobPath(src, digest), blobPath(dst, digest));
    if (ok) copiedBlobs.add(digest);
    return ok;
  };
  for (const repo of await repositories(reposDir)) {
    const revisions = path.join(reposDir, repo, "_manifests", "revisions", "sha256");
    const held = new Set<string>();
    for (const hex of await fs.readdir(revisions).catch(() => [] as string[])) {
      const digest = `sha256:${hex}`;
      if (!DIGEST.test(digest)) continue;
      // Deleting a manifest removes only its `link` file; the empty directory stays behind.
      const link = await fs.readFile(path.join(revisions, hex, "link"), "utf8").catch(() => "");
      if (link.trim() !== digest) continue;
      const layers = await copyManifest(digest, copyBlob, src, 0);
      if (layers === null) continue;
      held.add(digest);
      for (const d of [digest, ...layers]) {
        const rel = (kind: string, dg: string) =>
          path.join(V2, "repositories", repo, kind, "sha256", dg.slice("sha256:".length), "link");
        if (d === digest) await writeLink(path.join(dst, rel("_manifests/revisions", d)), d);
        else await writeLink(path.join(dst, rel("_layers", d)), d);
      }
    }
    if (held.size === 0) continue;
    copied.set(repo, held);
    // Tags that point at a kept manifest (the tag files are small; a tag of a pruned manifest is left out).
    await copyTree(
      path.join(reposDir, repo, "_manifests", "tags"),
      path.join(dst, V2, "repositories", repo, "_manifests", "tags"),
      (rel, isDir) => {
        const m = /(?:^|\/)sha256\/([a-f0-9]{64})$/.exec(rel);
        return isDir && m !== null && !held.has(`sha256:${m[1]}`);
      },
    );
  }
  return copied;
}

/** Copies a manifest blob and everything it references; the blob digests copied, or null when one was missing. */
async function copyManifest(
  digest: string,
  copyBlob: (digest: string) => Promise<boolean>,
  src: string,
  depth: number,
): Promise<string[] | null> {
  if (depth > 2) return null;
  let manifest: unknown;
  try {
    manifest = JSON.parse(await fs.readFile(blobPath(src, digest), "utf8"));
  } catch {
    return null;
  }
  const refs = referencedDigests(manifest);
  const out: string[] = [];
  for (const child of refs.manifests) {
    const inner = await copyManifest(child, copyBlob, src, depth + 1);
    if (inner === null) return null;
    out.push(child, ...inner);
  }
  for (const b of refs.blobs) {
    if (!(await copyBlob(b))) return null;
    out.push(b);
  }
  if (!(await copyBlob(digest))) return null;
  return out;
}

async function writeLink(file: string, digest: string): Promise<void> {
  await fs.mkdir(path.dirname(file), { recursive: true, mode: 0o700 });
  await fs.writeFile(file, digest, { mode: 0o600 });
}
