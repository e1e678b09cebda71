// Images and rootfs through containers/storage, driven by buildah: pull into a content-addressed layer store, then
// one buildah container per instance whose mount is an overlayfs (copy-on-write) over the shared image layers.
import { z } from "zod";
import { isRuntimeError, RuntimeError } from "./errors.ts";
import { run } from "./exec.ts";

export interface StorageConfig {
  root: string;
  runRoot: string;
  driver: "overlay";
  tlsVerify: boolean;
  insecureRegistries: string[];
  authFile?: string | undefined;
}

/** The parts of an image's OCI config that shape the process. */
export interface ImageConfig {
  user: string;
  env: string[];
  workingDir: string;
  entrypoint: string[];
  cmd: string[];
}

const OciConfig = z.object({
  User: z.string().optional(),
  Env: z.array(z.string()).nullish(),
  WorkingDir: z.string().optional(),
  Entrypoint: z.array(z.string()).nullish(),
  Cmd: z.array(z.string()).nullish(),
});
const ContainerInspect = z.object({ OCIv1: z.object({ config: OciConfig.optional() }) });

/** The process-shaping part of `buildah inspect` output (same shape for images and containers). */
function parseImageConfig(stdout: string, name: string): ImageConfig {
  const parsed = ContainerInspect.safeParse(JSON.parse(stdout));
  if (!parsed.success) throw new RuntimeError("failed", `unexpected buildah inspect output for ${name}`);
  const c = parsed.data.OCIv1.config ?? {};
  return {
    user: c.User ?? "",
    env: c.Env ?? [],
    workingDir: c.WorkingDir || "/",
    entrypoint: c.Entrypoint ?? [],
    cmd: c.Cmd ?? [],
  };
}

const NOT_KNOWN = /not known|no such|does not exist|not found/i;

/** buildah bound to one storage root. References and names are validated by the caller. */
export class Buildah {
  constructor(
    private readonly buildahPath: string,
    private readonly storage: StorageConfig,
  ) {}

  /** Global storage flags placed before every buildah subcommand. */
  globalArgs(): string[] {
    return ["--root", this.storage.root, "--runroot", this.storage.runRoot, "--storage-driver", this.storage.driver];
  }

  /** True if the image is in local storage. */
  async hasImage(ref: string): Promise<boolean> {
    try {
      await this.buildah(["inspect", "--type", "image", "--", ref]);
      return true;
    } catch (err) {
      if (isRuntimeError(err) && NOT_KNOWN.test(err.message)) return false;
      throw err;
    }
  }

  /** Pulls the image unless it is cached (layers already present are never fetched again). */
  async ensureImage(ref: string): Promise<void> {
    if (await this.hasImage(ref)) return;
    const host = ref.includes("/") ? (ref.split("/")[0] ?? "") : "";
    const tlsVerify = this.storage.tlsVerify && !this.storage.insecureRegistries.includes(host);
    const auth = this.storage.authFile ? ["--authfile", this.storage.authFile] : [];
    await this.buildah(["pull", "--quiet", `--tls-verify=${tlsVerify}`, ...auth, "--", ref], 600_000);
  }

  /**
   * Creates a working container named `name` from a local image; returns its name. With `idRange`, its rootfs shows
   * every file's owner shifted into that host range (container id N = host id hostId + N), as a user namespace with
   * that mapping expects; containers/storage does it with idmapped mounts where the kernel allows, else by a chowned
   * copy of the layers.
   */
  async from(name: string, ref: string, idRange?: { hostId: number; size: number }): Promise<string> {
    const mapping = idRange
      ? [
          "--userns-uid-map",
          `0:${idRange.hostId}:${idRange.size}`,
          "--userns-gid-map",
          `0:${idRange.hostId}:${idRange.size}`,
        ]
      : [];
    await this.buildah(["from", "--pull=never", "--quiet", ...mapping, "--name", name, "--", ref], 120_000);
    return name;
  }

  /** Mounts the container's overlay rootfs and returns the mount point. */
  async mount(name: string): Promise<string> {
    const { stdout } = await this.buildah(["mount", "--", name]);
    const mountPoint = stdout.trim();
    if (!mountPoint.startsWith("/"))
      throw new RuntimeError("failed", `buildah mount returned ${JSON.stringify(mountPoint)}`);
    return mountPoint;
  }

  /** The id of a local image. */
  async imageId(ref: string): Promise<string> {
    const { stdout } = await this.buildah(["inspect", "--type", "image", "--format", "{{.FromImageID}}", "--", ref]);
    const id = stdout.trim();
    if (!/^[0-9a-f]{64}$/.test(id)) throw new RuntimeError("failed", `buildah inspect gave no image id for ${ref}`);
    return id;
  }

  /** Reads a local image's config (what shapes the process). */
  async imageConfigOf(ref: string): Promise<ImageConfig> {
    const { stdout } = await this.buildah(["inspect", "--type", "image", "--", ref]);
    return parseImageConfig(stdout, ref);
  }

  /** Reads the image config the container was created from. */
  async imageConfig(name: string): Promise<ImageConfig> {
    const { stdout } = await this.buildah(["inspect", "--type", "container", "--", name]);
    return parseImageConfig(stdout, name);
  }

  /** Unmounts and removes the working container (its writable layer); a missing one is fine. */
  async remove(name: string): Promise<void> {
    try {
      await this.buildah(["rm", "--", name]);
    } catch (err) {
      if (isRuntimeError(err) && NOT_KNOWN.test(err.message)) return;
      throw err;
    }
  }

  /** Names of working containers in this storage. */
  async containers(): Promise<string[]> {
    const { stdout } = await this.buildah(["containers", "--json"]);
    const list = z
      .array(z.object({ containername: z.string() }))
      .nullable()
      .parse(JSON.parse(stdout || "null"));
    return (list ?? []).map((c) => c.containername).sort();
  }

  private buildah(args: string[], timeoutMs = 60_000) {
    return run(this.buildahPath, [...this.globalArgs(), ...args], { timeoutMs });
  }
}
