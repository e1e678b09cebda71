// `berth deploy --image REF`: copies an image into the platform registry (skopeo) and releases it.
// References to the platform's own images (`APP@sha256:...`) are allowed only for apps the caller can read.
// Any other reference names a host the tenant chose: skopeo pulls it anonymously inside a namespace on the isolated
// build network (so not from the host's loopback, its other addresses or private networks) into a directory, and
// a second skopeo on the host pushes that directory to the registry. Registry credentials go in an auth file.
import fs from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import type { Actor, Services } from "../context.ts";
import { BerthError, errors } from "../errors.ts";
import type { RegistryInfo } from "../service-types.ts";
import { requireApp } from "../teams/access.ts";
import { runStreaming } from "../process/run.ts";
import { acquireBuildNamespace } from "../builds/build-network.ts";
import { builderDirOf } from "../builds/builder-stores.ts";
import { withAuthFile } from "../registry/auth-file.ts";
import { isValidResourceName } from "../validation/names.ts";
import { splitDigest } from "../validation/image-ref.ts";
import { publishRelease } from "./publish.ts";
import { toReleaseView } from "./releases.ts";

const COPY_TIMEOUT_MS = 10 * 60 * 1000;

/** Runs skopeo (through `wrap`, e.g. in a namespace) and returns stdout; failures carry skopeo's first error line. */
async function skopeo(
  args: string[],
  wrap: (cmd: string, args: string[]) => [string, string[]] = (c, a) => [c, a],
): Promise<string> {
  let out = "";
  const lines: string[] = [];
  const [cmd, argv] = wrap("skopeo", args);
  try {
    await runStreaming(
      cmd,
      argv,
      (l) => {
        out += `${l}\n`;
        lines.push(l);
      },
      { timeoutMs: COPY_TIMEOUT_MS, name: "skopeo" },
    );
  } catch (err) {
    const reason =
      lines.find((l) => /error|denied|unauthorized|not found|no such host|refused/i.test(l)) ?? (err as Error).message;
    throw errors.validation(`cannot pull the image: ${reason.replace(/^time=.*?msg="?/, "").slice(0, 300)}`);
  }
  return out;
}

/** Copies `image` into the registry as the app's image and creates a release from it. */
export async function deployImage(s: Services, actor: Actor, appName: string, image: string) {
  const { app } = await requireApp(s.db, actor, appName, "app:deploy");
  // Only after the permission check: a caller who may not deploy learns 403/404, not whether the registry is up.
  const registry: RegistryInfo = s.registry();
  const { name } = splitDigest(image);
  const platformImage = !name.includes("/") && isValidResourceName(name) && splitDigest(image).digest;
  // A platform image: readable only by members of that app's team (another team's app is a 404).
  if (platformImage) await requireApp(s.db, actor, name, "app:read");
  const dir = await fs.mkdtemp(path.join(os.tmpdir(), "berth-deploy-"));
  try {
    const digestFile = path.join(dir, "digest");
    const dest = `docker://${registry.host}/${app.name}:image-${Date.now()}`;
    const configJson = await withAuthFile([registry], async (authFile) => {
      if (platformImage) {
        await skopeo([
          "copy",
          "--quiet",
          "--src-authfile",
          authFile,
          "--src-tls-verify=false",
          "--dest-authfile",
          authFile,
          "--dest-tls-verify=false",
          "--digestfile",
          digestFile,
          "--",
          `docker://${registry.host}/${image}`,
          dest,
        ]);
      } else {
        const local = path.join(dir, "image");
        await pullIsolated(s, image, local);
        await skopeo([
          "copy",
          "--quiet",
          "--dest-authfile",
          authFile,
          "--dest-tls-verify=false",
          "--digestfile",
          digestFile,
          "--",
          `dir:${local}`,
          dest,
        ]);
      }
      const digest = (await fs.readFile(digestFile, "utf8")).trim();
      return skopeo([
        "inspect",
        "--config",
        "--authfile",
        authFile,
        "--tls-verify=false",
        "--",
        `docker://${registry.host}/${app.name}@${digest}`,
      ]);
    });
    const digest = (await fs.readFile(digestFile, "utf8")).trim();
    const config =
      (
        JSON.parse(configJson) as {
          config?: { Cmd?: string[]; Entrypoint?: string[] };
        }
      ).config ?? {};
    if (!config.Cmd?.length && !config.Entrypoint?.length)
      throw errors.validation("the image has no CMD or ENTRYPOINT to run as web");
    const release = await publishRelease(
      s,
      actor,
      {
        appId: app.id,
        teamId: app.teamId,
        appName: app.name,
        imageRef: app.name,
        imageDigest: digest,
        processTypes: { web: "" },
        description: `Deploy image ${image}`,
      },
      registry,
    );
    return toReleaseView(release, actor.email, true);
  } finally {
    await fs.rm(dir, { recursive: true, force: true });
  }
}

/**
 * Pulls a tenant-named image into the directory `dest` (skopeo's `dir:` layout keeps the manifest as it is, so the
 * digest does not change), from inside a namespace on the isolated build network and without credentials: the
 * reference may name any host, and neither the host's private services nor its operator's registry logins are the
 * tenant's to use.
 */
async function pullIsolated(s: Services, image: string, dest: string): Promise<void> {
  const ns = await acquireBuildNamespace(builderDirOf(s.config.dataDir)).catch((err: unknown) => {
    // Never fall back to the host's network: without the isolated network, no pull of a tenant-chosen reference.
    s.log.warn({ err }, "isolated network for image pulls unavailable");
    throw new BerthError(
      "unavailable",
      "cannot pull images from registries now: the isolated build network is unavailable",
      { cause: err },
    );
  });
  try {
    await withAuthFile([], (noCreds) =>
      skopeo(["copy", "--quiet", "--src-authfile", noCreds, "--", `docker://${image}`, `dir:${dest}`], ns.wrap),
    );
  } finally {
    await ns.release();
  }
}
