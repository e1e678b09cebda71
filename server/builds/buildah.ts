// buildah invocations for builds: bud (with layer cache), push to the platform registry, inspect.
// Every call is an argv array; user-derived values only ever appear after option names or after `--`.
import fs from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { runStreaming, TimeLimitError } from "../process/run.ts";
import { withAuthFile, type RegistryLogin } from "../registry/auth-file.ts";

export interface BuilderStorage {
  root: string;
  runRoot: string;
  /** Stores whose images this one sees read-only (an app store sees the platform's stack store for stack builds). */
  imageStores?: string[];
}

export interface BuildLimits {
  timeoutMs: number;
  memory: string;
}

/** A build ran past BERTH_BUILD_TIMEOUT: the app's fault, shown to the pusher, not logged as a server problem. */
export class BuildLimitError extends Error {}

/** buildah's global options for a store (every buildah call on it passes the same ones). */
export function storageArgs(s: BuilderStorage): string[] {
  const args = ["--root", s.root, "--runroot", s.runRoot, "--storage-driver", "overlay"];
  // containers/storage's additional image stores: read-only, never written to by this store.
  for (const ro of s.imageStores ?? []) args.push("--storage-opt", `overlay.imagestore=${ro}`);
  return args;
}

/**
 * The signature policy of a Dockerfile build (`buildah bud --signature-policy`): images may come from registries
 * (`docker` transport) and from the app's own store (its layer cache and earlier images), nothing else. A Dockerfile
 * can name images with any containers-image transport (`FROM containers-storage:[overlay@<another store>]img`,
 * `COPY --from=oci-archive:/path`, `RUN --mount=from=dir:/path`); buildah copies such an image into the build, so
 * without this policy another app's store or any image-shaped file on the host would be readable. Pure.
 */
export function buildSourcePolicy(storeRoot: string): string {
  return `${JSON.stringify({
    default: [{ type: "reject" }],
    transports: {
      docker: { "": [{ type: "insecureAcceptAnything" }] },
      "containers-storage": { [`[overlay@${storeRoot}]`]: [{ type: "insecureAcceptAnything" }] },
    },
  })}\n`;
}

/**
 * `buildah bud` of a Dockerfile into a local image `tag`. `dockerfile` is a path outside the context, written by the
 * caller from the commit's blob; `authFile` holds no credentials, so base images are pulled anonymously (the
 * platform registry, which holds every team's images, needs credentials); `policyFile` holds buildSourcePolicy.
 * `wrap` runs buildah in the build network's namespace (acquireBuildNamespace): buildah itself fetches `ADD <url>`
 * and pulls `FROM` images, so it must not see the host's loopback or private networks.
 */
export async function buildDockerfile(
  s: BuilderStorage,
  opts: {
    context: string;
    dockerfile: string;
    authFile: string;
    policyFile: string;
    tag: string;
    buildArgs: Record<string, string>;
    limits: BuildLimits;
    wrap: (cmd: string, args: string[]) => [string, string[]];
  },
  onLine: (line: string) => void,
): Promise<void> {
  const args = [
    ...storageArgs(s),
    "bud",
    "--runtime",
    "/usr/sbin/runc",
    "--isolation",
    "oci",
    "--layers",
    // Remove the working container of a failed (or stopped) step too, not only after a successful build.
    "--force-rm",
    // Build steps get no network: they cannot reach the platform's internal services or other apps.
    "--network",
    "none",
    "--memory",
    opts.limits.memory,
    "--pull=missing",
    "--authfile",
    opts.authFile,
    "--signature-policy",
    opts.policyFile,
    "-f",
    opts.dockerfile,
    "-t",
    opts.tag,
  ];
  for (const [k, v] of Object.entries(opts.buildArgs)) args.push("--build-arg", `${k}=${v}`);
  args.push("--", opts.context);
  // buildah's words when the runtime killed a step (the kernel's OOM killer, under --memory).
  let killed = false;
  const watch = (line: string) => {
    if (/^container exited on killed$/.test(line.trim())) killed = true;
    onLine(line);
  };
  try {
    const [cmd, argv] = opts.wrap("buildah", args);
    await runStreaming(cmd, argv, watch, { timeoutMs: opts.limits.timeoutMs, name: "buildah" });
  } catch (err) {
    if (err instanceof TimeLimitError)
      throw new BuildLimitError(`the build exceeded its time limit of ${Math.round(opts.limits.timeoutMs / 1000)} s`);
    if (killed)
      throw new BuildLimitError(
        `a build step was killed, most likely for using more than the build memory limit (${opts.limits.memory})`,
      );
    throw err;
  }
}

/**
 * Pushes a local image to `docker://<login.host>/<repo>` (`repo` = name:tag); returns the manifest digest. The
 * credentials reach buildah in an auth file, not in its argv.
 */
export async function pushImage(
  s: BuilderStorage,
  image: string,
  repo: string,
  login: RegistryLogin,
  onLine: (line: string) => void,
): Promise<string> {
  const dir = await fs.mkdtemp(path.join(os.tmpdir(), "berth-push-"));
  const digestFile = path.join(dir, "digest");
  try {
    await withAuthFile([login], (authFile) =>
      runStreaming(
        "buildah",
        [
          ...storageArgs(s),
          "push",
          "--tls-verify=false",
          "--authfile",
          authFile,
          "--digestfile",
          digestFile,
          "--",
          image,
          `docker://${login.host}/${repo}`,
        ],
        onLine,
        { timeoutMs: 10 * 60 * 1000 },
      ),
    );
    const digest = (await fs.readFile(digestFile, "utf8")).trim();
    if (!/^sha256:[0-9a-f]{64}$/.test(digest)) throw new Error(`unexpected digest ${JSON.stringify(digest)}`);
    return digest;
  } finally {
    await fs.rm(dir, { recursive: true, force: true });
  }
}

export interface ImageConfig {
  cmd: string[];
  entrypoint: string[];
  workingDir: string;
  user: string;
  exposedPorts: string[];
}

/** Reads the run configuration (CMD, ENTRYPOINT, ...) of a local image. */
export async function inspectImage(s: BuilderStorage, image: string): Promise<ImageConfig> {
  let out = "";
  await runStreaming(
    "buildah",
    [...storageArgs(s), "inspect", "--type", "image", "--", image],
    (l) => (out += `${l}\n`),
  );
  const json = JSON.parse(out) as { OCIv1?: { config?: Record<string, unknown> } };
  const c = json.OCIv1?.config ?? {};
  const arr = (v: unknown) => (Array.isArray(v) ? v.map(String) : []);
  return {
    cmd: arr(c.Cmd),
    entrypoint: arr(c.Entrypoint),
    workingDir: typeof c.WorkingDir === "string" ? c.WorkingDir : "",
    user: typeof c.User === "string" ? c.User : "",
    exposedPorts: Object.keys((c.ExposedPorts as Record<string, unknown> | undefined) ?? {}),
  };
}

/** Removes a local image (ignores "not found"). */
export async function removeImage(s: BuilderStorage, image: string): Promise<void> {
  await runStreaming("buildah", [...storageArgs(s), "rmi", "--", image], () => undefined).catch(() => undefined);
}
