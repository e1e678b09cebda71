// The push processor: checks refs, queues per app, builds the pushed commit, pushes the image to the registry
// and creates the release. A failure at any step rejects the push and leaves the current release untouched.
import fs from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import type { Services } from "../context.ts";
import type { PushProcessor, RefUpdate } from "../git/endpoint.ts";
import { refCommit } from "../git/objects.ts";
import { KeyedLock, Semaphore } from "../lib/concurrency.ts";
import type { RegistryInfo } from "../service-types.ts";
import type { StreamPublisher } from "../service-types.ts";
import { appUrls } from "../apps/urls.ts";
import { publishRelease } from "../releases/publish.ts";
import { registryProblem } from "../health/registry-gate.ts";
import { acquireBuildNamespace } from "./build-network.ts";
import {
  BuildLimitError,
  buildDockerfile,
  buildSourcePolicy,
  inspectImage,
  pushImage,
  removeImage,
  type BuilderStorage,
  type BuildLimits,
} from "./buildah.ts";
import { appStorage, discardAppStore, npmCacheDir, stackStorage, withAppStore } from "./builder-stores.ts";
import { describeBuild, detectBuild } from "./detect.ts";
import { BuildOutput } from "./output.ts";
import { parseProcfile } from "./procfile.ts";
import { PushedFiles, SourceError } from "./pushed-files.ts";
import { buildOnStack, isStackUserError, readPlanInputs, useStack, type StackLease } from "./stacks/index.ts";
import { exportCommit, findEscapingSymlinks } from "./source.ts";
import { findReusableImage } from "./reuse.ts";
import { watchRollout } from "../scheduler/rollout-watch.ts";

const ZERO = "0".repeat(40);
/** Largest Procfile / Dockerfile the platform reads from a commit. */
const MAX_PROCFILE_BYTES = 256 * 1024;
const MAX_DOCKERFILE_BYTES = 1024 * 1024;
/** Files buildah itself reads from the context on the host during a Dockerfile build. */
const DOCKER_IGNORE_FILES = [".dockerignore", ".containerignore"];

export interface PipelineOptions {
  deployBranches: string[];
  concurrency: number;
  limits: BuildLimits;
  /** `<dataDir>/builder`: the platform's stack store, one store per app (builder-stores.ts), the build network. */
  builderDir: string;
  registry: () => RegistryInfo;
  hub: StreamPublisher;
}

class BuildFailure extends Error {}

/** Rethrows failures caused by the app (its files, its build steps) or a missing host tool as a BuildFailure. */
function asUserError(err: unknown): never {
  throw isStackUserError(err) ? new BuildFailure(err.message) : err;
}

/** Picks the one deployable update of a push, or explains why the push is refused. */
export function selectDeployUpdate(
  updates: RefUpdate[],
  branches: string[],
): { update: RefUpdate } | { refusal: string } {
  const allowed = new Set(branches.map((b) => `refs/heads/${b}`));
  const others = updates.filter((u) => !allowed.has(u.ref));
  if (others.length > 0) {
    return {
      refusal: `only ${branches.join(" or ")} can be pushed; refusing ${others.map((u) => u.ref).join(", ")}`,
    };
  }
  const deploy = updates.filter((u) => allowed.has(u.ref));
  if (deploy.length !== 1 || !deploy[0]) return { refusal: `push exactly one of ${branches.join(", ")}` };
  if (deploy[0].newRev === ZERO) return { refusal: `deleting ${deploy[0].ref} is not allowed` };
  return { update: deploy[0] };
}

/** Creates the push processor bound to the control plane's services. */
export function createBuildPipeline(s: Services, opts: PipelineOptions): PushProcessor {
  const perApp = new KeyedLock();
  const slots = new Semaphore(opts.concurrency);

  return async ({ session, updates, objectEnv }, write) => {
    const picked = selectDeployUpdate(updates, opts.deployBranches);
    if ("refusal" in picked) {
      write(`error: ${picked.refusal}\n`);
      return false;
    }
    const { update } = picked;
    if (perApp.busy(session.app)) write(`-----> Waiting for an earlier push to ${session.app} to finish\n`);
    // The app stays locked until git has applied (or refused) this push's ref update, so the next queued push
    // sees the new ref. The verdict is returned as soon as the build is done; the lock is released later.
    return new Promise<boolean>((resolveVerdict, rejectVerdict) => {
      void perApp
        .run(session.app, async () => {
          try {
            resolveVerdict(await buildOnce());
          } catch (err) {
            rejectVerdict(err);
          }
          await session.done;
        })
        .catch(rejectVerdict);
    });

    async function buildOnce(): Promise<boolean> {
      const current = await refCommit(session.repoDir, update.ref);
      if (current !== (update.oldRev === ZERO ? null : update.oldRev)) {
        write(
          `error: ${update.ref.replace("refs/heads/", "")} was updated by another push while this one waited; fetch, merge and push again\n`,
        );
        return false;
      }
      return slots.run(async () => {
        const app = await s.db.app.findUnique({ where: { name: session.app } });
        if (!app) {
          write("error: the app no longer exists\n");
          return false;
        }
        const build = await s.db.build.create({
          data: {
            appId: app.id,
            status: "building",
            sourceRef: update.ref,
            commit: update.newRev,
            createdById: session.actor.userId,
          },
        });
        const out = new BuildOutput(s.db, opts.hub, app.id, build.id, write, s.config.buildOutputBytes);
        try {
          // The app's own builder store, to itself for the build (builds of other apps use other stores).
          return await withAppStore(opts.builderDir, app.id, () => buildInStore(app, build.id, out));
        } finally {
          // Destroyed while it built: its store goes now that the build is over (destroy could not remove it).
          const gone = !(await s.db.app.findUnique({ where: { id: app.id }, select: { id: true } }).catch(() => app));
          if (gone) await discardAppStore(opts.builderDir, app.id, s.log);
        }
      });
    }

    async function buildInStore(
      app: { id: string; name: string; teamId: string },
      buildId: string,
      out: BuildOutput,
    ): Promise<boolean> {
      const work = await fs.mkdtemp(path.join(os.tmpdir(), "berth-build-"));
      // One local tag per app in the app's own store, overwritten by each build: a Dockerfile build's layers stay
      // as the cache of the next one; a stack build's image is removed once pushed (see the finally below).
      const tag = `berth-build/${app.name}:latest`;
      let storage: BuilderStorage | null = null;
      let stack: StackLease | null = null;
      try {
        out.step(`Building ${app.name} from ${update.ref.replace("refs/heads/", "")} ${update.newRev.slice(0, 8)}`);
        const reuse = await findReusableImage(s.db, app.id, session.repoDir, update.newRev, objectEnv);
        if (reuse) {
          out.step(`No source changes since ${reuse.commit.slice(0, 8)}: reusing its image`);
          const release = await publishRelease(s, session.actor, {
            appId: app.id,
            teamId: app.teamId,
            appName: app.name,
            buildId,
            imageRef: reuse.imageRef,
            imageDigest: reuse.imageDigest,
            processTypes: reuse.processTypes,
            description: `Deploy ${update.newRev.slice(0, 8)} (image of ${reuse.commit.slice(0, 8)})`,
          });
          const imageRef = `${reuse.imageRef}@${reuse.imageDigest}`;
          await s.db.build.update({
            where: { id: buildId },
            data: { status: "succeeded", imageRef, finishedAt: new Date() },
          });
          out.step(`Released v${release.version} (process types: ${Object.keys(reuse.processTypes).join(", ")})`);
          return await rollOut(s, out, app.name, release);
        }
        // What the platform reads itself (build kind, Procfile, Dockerfile, package.json, lockfiles) comes from the
        // commit's git objects, never through the exported tree: a symlink there is refused, not followed.
        const files = await PushedFiles.load(session.repoDir, update.newRev, objectEnv);
        const kind = detectBuild((f) => files.has(f));
        if (!kind) throw new BuildFailure("no Dockerfile, package.json, index.html or Procfile at the repository root");
        out.step(`Detected ${describeBuild(kind)}`);
        let processTypes: Record<string, string> = {};
        const procfile = await files.readText("Procfile", MAX_PROCFILE_BYTES);
        if (procfile !== null) {
          const parsed = parseProcfile(procfile);
          if (parsed.errors.length) throw new BuildFailure(`Procfile: ${parsed.errors.join("; ")}`);
          processTypes = parsed.types;
        }
        const dockerfile =
          kind.kind === "dockerfile" ? ((await files.readText(kind.dockerfile, MAX_DOCKERFILE_BYTES)) ?? "") : null;
        if (kind.kind === "dockerfile") for (const f of DOCKER_IGNORE_FILES) files.requireRegular(f);
        const inputs = kind.kind === "dockerfile" ? null : await readPlanInputs(kind.kind, files).catch(asUserError);

        const src = path.join(work, "src");
        await exportCommit(session.repoDir, update.newRev, src, objectEnv);
        // Defence in depth before anything copies the tree: no link may lead out of it, through chains or not.
        const escaping = await findEscapingSymlinks(src);
        if (escaping.length > 0)
          throw new BuildFailure(`symlinks pointing outside the source tree: ${escaping.slice(0, 5).join(", ")}`);
        const buildVars = await s.db.configVar.findMany({
          where: { appId: app.id, buildTime: true },
        });
        const buildEnv = Object.fromEntries(buildVars.map((v) => [v.key, v.value]));
        if (kind.kind !== "dockerfile" && inputs) {
          // No Dockerfile: build on a platform stack (server/builds/stacks/), in the app's store, which sees the
          // stack store read-only. The lease keeps the stack image until the app image built on it is gone.
          storage = appStorage(opts.builderDir, app.id, { withStacks: true });
          stack = await useStack(stackStorage(opts.builderDir), kind.kind === "static" ? "static" : "node", {
            onLine: (l) => out.line(`       ${l}`),
          }).catch(asUserError);
          processTypes = await buildOnStack(
            storage,
            stack,
            {
              kind: kind.kind,
              app: app.name,
              src,
              files,
              inputs,
              builderDir: opts.builderDir,
              npmCacheDir: npmCacheDir(opts.builderDir, app.id),
              tag,
              limits: opts.limits,
              procfile: processTypes,
              buildEnv,
            },
            out,
          ).catch(asUserError);
        } else {
          // A Dockerfile build sees the app's store alone: its FROM / COPY --from can name only this app's images
          // (its layer cache) or images pulled (anonymously) from registries; the signature policy refuses every
          // other source (another store, archives and directories on the host).
          storage = appStorage(opts.builderDir, app.id, { withStacks: false });
          const dockerfilePath = path.join(work, "Dockerfile");
          const authFile = path.join(work, "auth.json");
          const policyFile = path.join(work, "policy.json");
          await fs.writeFile(dockerfilePath, dockerfile ?? "");
          await fs.writeFile(authFile, "{}\n", { mode: 0o600 });
          await fs.writeFile(policyFile, buildSourcePolicy(storage.root), { mode: 0o600 });
          // buildah fetches ADD URLs and pulls FROM images itself, on the host: it runs in a namespace on the
          // isolated build network, so the host's loopback and private networks are out of its reach.
          const ns = await acquireBuildNamespace(opts.builderDir);
          try {
            if (ns.warning) out.line(`       warning: ${ns.warning}`);
            await buildDockerfile(
              storage,
              {
                context: src,
                dockerfile: dockerfilePath,
                authFile,
                policyFile,
                tag,
                buildArgs: buildEnv,
                limits: opts.limits,
                wrap: ns.wrap,
              },
              (l) => out.line(`       ${l}`),
            );
          } finally {
            await ns.release();
          }
        }
        const image = await inspectImage(storage, tag);
        if (!processTypes.web && (image.cmd.length > 0 || image.entrypoint.length > 0)) {
          // Without a Procfile web entry, the image's own CMD/ENTRYPOINT is the web process ("" = image default).
          processTypes = { web: "", ...processTypes };
        }
        if (Object.keys(processTypes).length === 0)
          throw new BuildFailure("the image has no CMD/ENTRYPOINT and there is no Procfile");
        const reg = opts.registry();
        out.step("Pushing image to the platform registry");
        const digest = await pushImage(storage, tag, `${app.name}:build-${buildId}`, reg, () => undefined).catch(
          async (err: unknown) => {
            // The registry went away during the build: say so instead of buildah's connection error.
            const down = await registryProblem(s);
            throw down ? new BuildFailure(down) : err;
          },
        );
        out.line(`       ${app.name}@${digest}`);
        const release = await publishRelease(
          s,
          session.actor,
          {
            appId: app.id,
            teamId: app.teamId,
            appName: app.name,
            buildId,
            imageRef: app.name,
            imageDigest: digest,
            processTypes,
            description: `Deploy ${update.newRev.slice(0, 8)}`,
          },
          reg,
        );
        await s.db.build.update({
          where: { id: buildId },
          data: {
            status: "succeeded",
            imageRef: `${app.name}@${digest}`,
            finishedAt: new Date(),
          },
        });
        out.step(`Released v${release.version} (process types: ${Object.keys(processTypes).join(", ")})`);
        return await rollOut(s, out, app.name, release);
      } catch (err) {
        const userError = err instanceof BuildFailure || err instanceof BuildLimitError || err instanceof SourceError;
        const message = err instanceof Error ? err.message : String(err);
        if (!userError) s.log.warn({ err, app: app.name, build: buildId }, "build failed");
        out.line(`error: build failed: ${message}`);
        out.line("       the push was rejected; the running release is unchanged");
        await out.flush();
        await s.db.build.update({
          where: { id: buildId },
          data: { status: "failed", error: message, finishedAt: new Date() },
        });
        return false;
      } finally {
        // A stack build's image is not a cache (every stack build starts from the stack): it leaves the app store
        // once pushed, so no app store keeps layers on top of a stack image that a rebuild may replace.
        if (stack && storage) {
          await removeImage(storage, tag);
          stack.release();
        }
        await fs.rm(work, { recursive: true, force: true });
      }
    }
  };
}

/**
 * Follows the new release's rollout (publishRelease asked the scheduler for it) and tells the pusher how it went. A
 * failed rollout rejects the push: the old release keeps serving and the branch stays where it was, like a failed
 * build.
 */
async function rollOut(
  s: Services,
  out: BuildOutput,
  app: string,
  release: { id: string; version: number },
): Promise<boolean> {
  const verdict = await watchRollout(s, app, release, out);
  if (verdict.status === "failed") {
    out.line(`error: v${release.version} did not start: ${verdict.reason ?? "unknown reason"}`);
    out.line("       the push was rejected; the running release is unchanged");
    await out.flush();
    return false;
  }
  if (verdict.status === "superseded") out.line(`       v${release.version} was superseded by a newer release`);
  if (verdict.status === "deployed") out.step(`v${release.version} is running`);
  out.line(`       ${appUrls(s.config, app).webUrl}`);
  await out.flush();
  return true;
}
