// `berth deploy --image REF`: copies an image into the platform registry (skopeo) and releases it.
// References to the platform's own images (`APP@sha256:...`) are allowed only for apps the caller can read.
import fs from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import type { Actor, Services } from "../context.ts";
import { errors } from "../errors.ts";
import type { RegistryInfo } from "../registry/registry.ts";
import { requireApp } from "../teams/access.ts";
import { runStreaming } from "../builds/buildah.ts";
import { isValidResourceName } from "../validation/names.ts";
import { splitDigest } from "../validation/image-ref.ts";
import { createRelease, toReleaseView } from "./releases.ts";
import { pruneReleaseImages } from "../registry/prune.ts";
import { kickScheduler } from "../scheduler/kick.ts";

const COPY_TIMEOUT_MS = 10 * 60 * 1000;

/** Runs skopeo and returns stdout; failures carry skopeo's first error line. */
async function skopeo(args: string[]): Promise<string> {
  let out = "";
  const lines: string[] = [];
  try {
    await runStreaming(
      "skopeo",
      args,
      (l) => {
        out += `${l}\n`;
        lines.push(l);
      },
      { timeoutMs: COPY_TIMEOUT_MS },
    );
  } catch (err) {
    const reason =
      lines.find((l) =>
        /error|denied|unauthorized|not found|no such host|refused/i.test(l),
      ) ?? (err as Error).message;
    throw errors.validation(
      `cannot pull the image: ${reason.replace(/^time=.*?msg="?/, "").slice(0, 300)}`,
    );
  }
  return out;
}

/** Copies `image` into the registry as the app's image and creates a release from it. */
export async function deployImage(
  s: Services,
  actor: Actor,
  appName: string,
  image: string,
) {
  const { app } = await requireApp(s.db, actor, appName, "app:deploy");
  // Only after the permission check: a caller who may not deploy learns 403/404, not whether the registry is up.
  const registry: RegistryInfo = s.registry();
  const { name } = splitDigest(image);
  const creds = `${registry.username}:${registry.password}`;
  let src = `docker://${image}`;
  const srcArgs: string[] = [];
  if (
    !name.includes("/") &&
    isValidResourceName(name) &&
    splitDigest(image).digest
  ) {
    // A platform image: readable only by members of that app's team (another team's app is a 404).
    await requireApp(s.db, actor, name, "app:read");
    src = `docker://${registry.host}/${image}`;
    srcArgs.push("--src-creds", creds, "--src-tls-verify=false");
  }
  const dir = await fs.mkdtemp(path.join(os.tmpdir(), "berth-deploy-"));
  try {
    const digestFile = path.join(dir, "digest");
    const dest = `docker://${registry.host}/${app.name}:image-${Date.now()}`;
    await skopeo([
      "copy",
      "--quiet",
      ...srcArgs,
      "--dest-creds",
      creds,
      "--dest-tls-verify=false",
      "--digestfile",
      digestFile,
      "--",
      src,
      dest,
    ]);
    const digest = (await fs.readFile(digestFile, "utf8")).trim();
    const configJson = await skopeo([
      "inspect",
      "--config",
      "--creds",
      creds,
      "--tls-verify=false",
      "--",
      `docker://${registry.host}/${app.name}@${digest}`,
    ]);
    const config =
      (
        JSON.parse(configJson) as {
          config?: { Cmd?: string[]; Entrypoint?: string[] };
        }
      ).config ?? {};
    if (!config.Cmd?.length && !config.Entrypoint?.length)
      throw errors.validation(
        "the image has no CMD or ENTRYPOINT to run as web",
      );
    const release = await createRelease(s.db, actor, {
      appId: app.id,
      teamId: app.teamId,
      appName: app.name,
      imageRef: app.name,
      imageDigest: digest,
      processTypes: { web: "" },
      description: `Deploy image ${image}`,
    });
    kickScheduler(s);
    await pruneReleaseImages(s, app.id, app.name, registry, s.config.keepReleases).catch((err: unknown) =>
      s.log.warn({ err, app: app.name }, "pruning old release images failed"),
    );
    return toReleaseView(release, actor.email, true);
  } finally {
    await fs.rm(dir, { recursive: true, force: true });
  }
}
