// The push processor: checks refs, queues per app, builds the pushed commit, pushes the image to the registry
// and creates the release. A failure at any step rejects the push and leaves the current release untouched.
import { execFile } from "node:child_process";
import { existsSync } from "node:fs";
import { promisify } from "node:util";
import fs from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import type { Services } from "../context.ts";
import type { PushProcessor, RefUpdate } from "../git/endpoint.ts";
import { KeyedLock, Semaphore } from "../lib/concurrency.ts";
import type { RegistryInfo } from "../registry/registry.ts";
import type { StreamHub } from "../ws/hub.ts";
import { appUrls } from "../apps/urls.ts";
import { createRelease } from "../releases/releases.ts";
import { pruneReleaseImages } from "../registry/prune.ts";
import {
  BuildLimitError,
  buildDockerfile,
  inspectImage,
  pushImage,
  type BuilderStorage,
  type BuildLimits,
} from "./buildah.ts";
import { describeBuild, detectBuild } from "./detect.ts";
import { BuildOutput } from "./output.ts";
import { parseProcfile } from "./procfile.ts";
import { buildOnStack, isStackUserError } from "./stacks/index.ts";
import { exportCommit, findEscapingSymlinks } from "./source.ts";
import { findReusableImage } from "./reuse.ts";
import { kickScheduler } from "../scheduler/kick.ts";
import { watchRollout } from "../scheduler/rollout-watch.ts";

const ZERO = "0".repeat(40);
const execFileAsync = promisify(execFile);

export interface PipelineOptions {
  deployBranches: string[];
  concurrency: number;
  limits: BuildLimits;
  storage: BuilderStorage;
  registry: () => RegistryInfo;
  hub: StreamHub;
}

class BuildFailure extends Error {}

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
      const current = await currentRev(session.repoDir, update.ref);
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
        const out = new BuildOutput(s.db, opts.hub, app.id, build.id, write);
        const work = await fs.mkdtemp(path.join(os.tmpdir(), "berth-build-"));
        // One local tag per app, overwritten by each build: its layers stay as the cache of the next build.
        const tag = `berth-build/${app.name}:latest`;
        try {
          out.step(`Building ${app.name} from ${update.ref.replace("refs/heads/", "")} ${update.newRev.slice(0, 8)}`);
          const reuse = await findReusableImage(s.db, app.id, session.repoDir, update.newRev, objectEnv);
          if (reuse) {
            out.step(`No source changes since ${reuse.commit.slice(0, 8)}: reusing its image`);
            const release = await createRelease(s.db, session.actor, {
              appId: app.id,
              teamId: app.teamId,
              appName: app.name,
              buildId: build.id,
              imageRef: reuse.imageRef,
              imageDigest: reuse.imageDigest,
              processTypes: reuse.processTypes,
              description: `Deploy ${update.newRev.slice(0, 8)} (image of ${reuse.commit.slice(0, 8)})`,
            });
            const imageRef = `${reuse.imageRef}@${reuse.imageDigest}`;
            await s.db.build.update({ where: { id: build.id }, data: { status: "succeeded", imageRef, finishedAt: new Date() } });
            out.step(`Released v${release.version} (process types: ${Object.keys(reuse.processTypes).join(", ")})`);
            return await rollOut(s, out, app.name, release);
          }
          const src = path.join(work, "src");
          await exportCommit(session.repoDir, update.newRev, src, objectEnv);
          const escaping = await findEscapingSymlinks(src);
          if (escaping.length > 0)
            throw new BuildFailure(`symlinks pointing outside the source tree: ${escaping.slice(0, 5).join(", ")}`);
          const exists = (f: string) => existsSync(path.join(src, f));
          const kind = detectBuild(exists);
          if (!kind)
            throw new BuildFailure("no Dockerfile, package.json, index.html or Procfile at the repository root");
          out.step(`Detected ${describeBuild(kind)}`);
          let processTypes: Record<string, string> = {};
          if (exists("Procfile")) {
            const parsed = parseProcfile(await fs.readFile(path.join(src, "Procfile"), "utf8"));
            if (parsed.errors.length) throw new BuildFailure(`Procfile: ${parsed.errors.join("; ")}`);
            processTypes = parsed.types;
          }
          const buildVars = await s.db.configVar.findMany({
            where: { appId: app.id, buildTime: true },
          });
          const buildEnv = Object.fromEntries(buildVars.map((v) => [v.key, v.value]));
          if (kind.kind !== "dockerfile") {
            // No Dockerfile: build on a platform stack (server/builds/stacks/).
            processTypes = await buildOnStack(
              opts.storage,
              { kind: kind.kind, app: app.name, src, tag, limits: opts.limits, procfile: processTypes, buildEnv },
              out,
            ).catch((err: unknown) => {
              throw isStackUserError(err) ? new BuildFailure(err.message) : err;
            });
          } else {
            await buildDockerfile(
              opts.storage,
              { context: src, dockerfile: kind.dockerfile, tag, buildArgs: buildEnv, limits: opts.limits },
              (l) => out.line(`       ${l}`),
            );
          }
          const image = await inspectImage(opts.storage, tag);
          if (!processTypes.web && (image.cmd.length > 0 || image.entrypoint.length > 0)) {
            // Without a Procfile web entry, the image's own CMD/ENTRYPOINT is the web process ("" = image default).
            processTypes = { web: "", ...processTypes };
          }
          if (Object.keys(processTypes).length === 0)
            throw new BuildFailure("the image has no CMD/ENTRYPOINT and there is no Procfile");
          const reg = opts.registry();
          out.step("Pushing image to the platform registry");
          const digest = await pushImage(
            opts.storage,
            tag,
            `docker://${reg.host}/${app.name}:build-${build.id}`,
            reg,
            () => undefined,
          );
          out.line(`       ${app.name}@${digest}`);
          const release = await createRelease(s.db, session.actor, {
            appId: app.id,
            teamId: app.teamId,
            appName: app.name,
            buildId: build.id,
            imageRef: app.name,
            imageDigest: digest,
            processTypes,
            description: `Deploy ${update.newRev.slice(0, 8)}`,
          });
          await s.db.build.update({
            where: { id: build.id },
            data: {
              status: "succeeded",
              imageRef: `${app.name}@${digest}`,
              finishedAt: new Date(),
            },
          });
          await pruneReleaseImages(s, app.id, app.name, reg, s.config.keepReleases).catch((err: unknown) =>
            s.log.warn({ err, app: app.name }, "pruning old release images failed"),
          );
          out.step(`Released v${release.version} (process types: ${Object.keys(processTypes).join(", ")})`);
          return await rollOut(s, out, app.name, release);
        } catch (err) {
          const message = err instanceof BuildFailure ? err.message : err instanceof Error ? err.message : String(err);
          if (!(err instanceof BuildFailure || err instanceof BuildLimitError))
            s.log.warn({ err, app: app.name, build: build.id }, "build failed");
          out.line(`error: build failed: ${message}`);
          out.line("       the push was rejected; the running release is unchanged");
          await out.flush();
          await s.db.build.update({
            where: { id: build.id },
            data: { status: "failed", error: message, finishedAt: new Date() },
          });
          return false;
        } finally {
          await fs.rm(work, { recursive: true, force: true });
        }
      });
    }
  };
}

/**
 * Rolls the new release out and tells the pusher how it went. A failed rollout rejects the push: the old release
 * keeps serving and the branch stays where it was, like a failed build.
 */
async function rollOut(
  s: Services,
  out: BuildOutput,
  app: string,
  release: { id: string; version: number },
): Promise<boolean> {
  kickScheduler(s);
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

/** The commit a ref points at in the repository, or null if the ref does not exist. */
async function currentRev(repoDir: string, ref: string): Promise<string | null> {
  try {
    const { stdout } = await execFileAsync("git", [
      "--git-dir",
      repoDir,
      "rev-parse",
      "--verify",
      "--quiet",
      `${ref}^{commit}`,
    ]);
    return stdout.trim() || null;
  } catch {
    return null;
  }
}
