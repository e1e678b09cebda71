// The node's images as the start path needs them: which containers/storage image a reference names, its OCI config and
// the directories of its unpacked layers (top first), so an instance's rootfs is one overlay mount over them instead of
// a `buildah from` + `buildah mount` per start. The layers are unpacked once, when the image is pulled; the index is
// read from containers/storage's own files (overlay-images/images.json, overlay-layers/layers.json, each layer's
// `link`), which it replaces atomically, so a read never sees a half-written file. Anything it cannot resolve that way
// goes through buildah (pull, inspect), as before.
//
// Each image in use is pinned by one buildah working container (never mounted): containers/storage then refuses to
// remove its layers (`buildah rmi` says the image is in use) while instances run on them. Pins of images no instance
// uses any more are removed by the agent's garbage collection, not at every stop, so sequential restarts of an
// instance do not pay for a pin each time.
import fs from "node:fs/promises";
import path from "node:path";
import { z } from "zod";
import { isRuntimeError, RuntimeError } from "./errors.ts";
import type { Buildah, ImageConfig } from "./storage.ts";

/** What a start needs of an image; cached per image id (content-addressed: it never changes). */
export interface ResolvedImage {
  id: string;
  config: ImageConfig;
  /** Layer directories, topmost first, as overlay's lowerdir wants them (short `l/` links of containers/storage). */
  layers: string[];
  /** The layers' short link names, topmost first (names of their idmapped mounts). */
  links: string[];
}

const ImagesJson = z.array(
  z.object({
    id: z.string().regex(/^[0-9a-f]{64}$/),
    digest: z.string().optional(),
    digests: z.array(z.string()).nullish(),
    names: z.array(z.string()).nullish(),
    layer: z.string().optional(),
  }),
);
const LayersJson = z.array(z.object({ id: z.string().regex(/^[0-9a-f]{64}$/), parent: z.string().optional() }));
const LINK = /^[A-Z0-9]{26}$/;

/** The image entry a reference names: by id, by name, or by `repo@digest`. Pure. */
export function findImage(images: z.infer<typeof ImagesJson>, ref: string): { id: string; layer?: string } | undefined {
  const at = ref.lastIndexOf("@");
  const digest = at > 0 ? ref.slice(at + 1) : undefined;
  const repo = at > 0 ? ref.slice(0, at) : undefined;
  return images.find(
    (i) =>
      i.id === ref ||
      (i.names ?? []).includes(ref) ||
      (digest !== undefined &&
        (i.digest === digest || (i.digests ?? []).includes(digest)) &&
        (i.names ?? []).some((n) => n === ref || n.startsWith(`${repo}:`) || n.startsWith(`${repo}@`))),
  );
}

/** The layer chain from `top` down to the base, following `parent`. Pure. */
export function layerChain(layers: z.infer<typeof LayersJson>, top: string): string[] {
  const byId = new Map(layers.map((l) => [l.id, l]));
  const chain: string[] = [];
  for (let id: string | undefined = top; id !== undefined; id = byId.get(id)?.parent) {
    if (!byId.has(id)) throw new RuntimeError("failed", `layer ${id} is missing from containers/storage`);
    if (chain.includes(id) || chain.length > 500) throw new RuntimeError("failed", "layer chain does not end");
    chain.push(id);
  }
  return chain;
}

export class ImageStore {
  private readonly resolved = new Map<string, Promise<ResolvedImage>>();
  /** Images pinned by this process (a pin made by an earlier agent is found when `from` says the name is taken). */
  private readonly pinned = new Set<string>();
  /** When each image was last resolved: a create between resolving and recording its image keeps the pin. */
  private readonly lastUse = new Map<string, number>();

  constructor(
    private readonly buildah: Buildah,
    private readonly storageRoot: string,
    private readonly pinPrefix: string,
  ) {}

  /** Name of an image's pin container. */
  pinName(imageId: string): string {
    return `${this.pinPrefix}${imageId.slice(0, 16)}`;
  }

  /** True for names of pin containers (garbage collection and host counts tell them from instances' containers). */
  isPin(name: string): boolean {
    return name.startsWith(this.pinPrefix) && /^[0-9a-f]{16}$/.test(name.slice(this.pinPrefix.length));
  }

  /** Resolves `ref` to a local image (pulling it first when it is not local), pinned, with config and layers. */
  async resolve(ref: string): Promise<ResolvedImage> {
    let id = (await this.lookup(ref))?.id;
    if (!id) {
      await this.buildah.ensureImage(ref);
      id = (await this.lookup(ref))?.id ?? (await this.buildah.imageId(ref));
    }
    const imageId = id;
    let p = this.resolved.get(imageId);
    if (!p) {
      p = this.load(imageId);
      this.resolved.set(imageId, p);
      p.catch(() => this.resolved.delete(imageId));
    }
    const image = await p;
    this.lastUse.set(image.id, Date.now());
    await this.pin(image.id);
    return image;
  }

  /**
   * Removes the pins of images no instance uses (`inUse`: image ids of the node's instance records) and that were not
   * resolved in the last `graceMs` (a create may be between resolving its image and recording it).
   */
  async unpinUnused(inUse: ReadonlySet<string>, graceMs = 60_000): Promise<string[]> {
    const keep = new Set([
      ...inUse,
      ...[...this.lastUse].filter(([, t]) => Date.now() - t < graceMs).map(([id]) => id),
    ]);
    const removed: string[] = [];
    for (const name of await this.buildah.containers()) {
      if (!this.isPin(name) || [...keep].some((id) => this.pinName(id) === name)) continue;
      await this.buildah.remove(name);
      for (const id of this.pinned) if (this.pinName(id) === name) this.pinned.delete(id);
      removed.push(name);
    }
    return removed;
  }

  private async pin(imageId: string): Promise<void> {
    if (this.pinned.has(imageId)) return;
    try {
      await this.buildah.from(this.pinName(imageId), imageId);
    } catch (err) {
      if (!(isRuntimeError(err) && /already in use|name is in use|already exists/i.test(err.message))) throw err;
    }
    this.pinned.add(imageId);
  }

  private async readJson(rel: string): Promise<unknown> {
    try {
      return JSON.parse(await fs.readFile(path.join(this.storageRoot, rel), "utf8"));
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === "ENOENT") return [];
      throw err;
    }
  }

  private async lookup(ref: string): Promise<{ id: string; layer?: string } | undefined> {
    return findImage(ImagesJson.parse(await this.readJson("overlay-images/images.json")), ref);
  }

  private async load(imageId: string): Promise<ResolvedImage> {
    const entry = await this.lookup(imageId);
    if (!entry?.layer) throw new RuntimeError("failed", `image ${imageId} has no layers in containers/storage`);
    const chain = layerChain(LayersJson.parse(await this.readJson("overlay-layers/layers.json")), entry.layer);
    const links = await Promise.all(
      chain.map(async (layer) => {
        const link = (await fs.readFile(path.join(this.storageRoot, "overlay", layer, "link"), "utf8")).trim();
        if (!LINK.test(link)) throw new RuntimeError("failed", `layer ${layer} has an unexpected link name`);
        return link;
      }),
    );
    return {
      id: imageId,
      config: await this.buildah.imageConfigOf(imageId),
      layers: links.map((l) => path.join(this.storageRoot, "overlay", "l", l)),
      links,
    };
  }
}
