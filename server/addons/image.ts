// The image of an add-on: its platform stack (postgres: Debian's postgresql-15, redis: Debian's redis-server; built
// once by debootstrap like the app stacks and cached in BERTH_STACK_CACHE_DIR), pushed to the platform registry under
// the add-on's service app, so nodes pull it like any release image (the pull proxy lets a node read its team's apps).
import { builderDirOf, stackStorage } from "../builds/builder-stores.ts";
import { pushImage } from "../builds/buildah.ts";
import { ensureStack } from "../builds/stacks/index.ts";
import type { StackName } from "../builds/stacks/recipe.ts";
import type { Services } from "../context.ts";

/** A release image: repository (the service app's name) and manifest digest. */
export interface AddonImage {
  imageRef: string;
  imageDigest: string;
  /** The stack image it came from (`berth-stack/postgres:<recipe hash>`), for the release description. */
  stack: string;
}

/** Where add-on images come from: the real one builds and pushes the stack; integration tests replace it. */
export type AddonImageSource = (
  serviceApp: string,
  stack: StackName,
  onLine: (l: string) => void,
) => Promise<AddonImage>;

/** The add-on images of this control plane, built once in control-plane.ts (services.addonImages). */
export class AddonImages {
  private source: AddonImageSource | undefined;

  constructor(private readonly s: Pick<Services, "config" | "registry">) {}

  /**
   * Replaces where add-on images come from (integration tests: a fake node runs any image, and building the real one
   * takes buildah, a registry and minutes). Undefined restores the real one.
   */
  replaceSource(source: AddonImageSource | undefined): void {
    this.source = source;
  }

  /** Makes sure the stack exists (from storage, cache, or built) and pushes it as `<serviceApp>:<stack>-<hash>`. */
  async push(serviceApp: string, name: StackName, onLine: (l: string) => void): Promise<AddonImage> {
    if (this.source) return this.source(serviceApp, name, onLine);
    // First: without a registry (API-only setups) there is nothing to build the image for.
    const registry = this.s.registry();
    const storage = stackStorage(builderDirOf(this.s.config.dataDir));
    const stack = await ensureStack(storage, name, { onLine });
    const digest = await pushImage(
      storage,
      stack.image,
      `${serviceApp}:${name}-${stack.hash}`,
      registry,
      () => undefined,
    );
    return { imageRef: serviceApp, imageDigest: digest, stack: stack.image };
  }
}
