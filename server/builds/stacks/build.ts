// Builds an app without a Dockerfile on a platform stack: `buildah from <stack>`, copy the source to /app, run the
// plan's steps (each an argv array, as the unprivileged app user, without network unless the step must download
// dependencies), set CMD/ENV/WORKDIR/USER/PORT and commit the image under the app's local tag.
import { randomBytes } from "node:crypto";
import { existsSync } from "node:fs";
import fs from "node:fs/promises";
import path from "node:path";
import { runStreaming } from "../../process/run.ts";
import { storageArgs, type BuilderStorage, type BuildLimits } from "../buildah.ts";
import { acquireBuildNetwork } from "../build-network.ts";
import type { SourceFiles } from "../pushed-files.ts";
import {
  parsePackageJson,
  planNodeBuild,
  planProcfileBuild,
  planStaticBuild,
  PlanError,
  type BuildPlan,
  type PackageJson,
  type StackKind,
} from "./plan.ts";
import { APP_UID } from "./recipe.ts";
import type { StackInfo } from "./stacks.ts";

export { PlanError } from "./plan.ts";

export interface StackBuildRequest {
  kind: StackKind;
  app: string;
  /** The exported source tree (already checked for escaping symlinks); may be modified (e.g. .npmrc removed). */
  src: string;
  /** The commit's root files as git has them: what the plan reads (package.json, lockfiles), never via `src`. */
  files: SourceFiles;
  /** The package.json and lockfile, read (and refused if symlinked) before the stack was prepared. */
  inputs: PlanInputs;
  /** The platform's builder directory (`<dataDir>/builder`): its build network. */
  builderDir: string;
  /** The app's own npm cache directory, kept between its builds. */
  npmCacheDir: string;
  /** Local image name to commit to. */
  tag: string;
  limits: BuildLimits;
  /** Process types from the Procfile ({} without one). */
  procfile: Record<string, string>;
  /** Config vars marked build-time: environment of the build steps, never stored in the image. */
  buildEnv: Record<string, string>;
}

export interface BuildLog {
  step(text: string): void;
  line(text: string): void;
}

const MAX_JSON_BYTES = 16 * 1024 * 1024;

const g = storageArgs;

const HOST_CA_BUNDLE = "/etc/ssl/certs/ca-certificates.crt";
const CA_IN_CONTAINER = "/etc/ssl/berth-host-ca.crt";

/**
 * What the networked step needs to reach the registry the way the host does: the host's CA bundle (read-only; hosts
 * behind a TLS-inspecting egress proxy add their CA there) and the host's proxy settings, if any.
 */
function hostNetworkTrust(): string[] {
  const args: string[] = [];
  if (existsSync(HOST_CA_BUNDLE))
    args.push("--volume", `${HOST_CA_BUNDLE}:${CA_IN_CONTAINER}:ro`, "--env", `NODE_EXTRA_CA_CERTS=${CA_IN_CONTAINER}`);
  for (const k of ["HTTPS_PROXY", "https_proxy", "HTTP_PROXY", "http_proxy", "NO_PROXY", "no_proxy"]) {
    const v = process.env[k];
    if (v) args.push("--env", `${k}=${v}`);
  }
  return args;
}

/** What a plan reads from the app's files: parsed package.json and lockfile (Node.js apps only). */
export interface PlanInputs {
  pkg: PackageJson | null;
  lock: unknown;
}

/**
 * Reads package.json and the npm lockfile of a Node.js app from the commit (refusing symlinks, oversized or invalid
 * files with a clear message); nothing for other kinds. Runs before the stack is prepared, so a bad file fails fast.
 */
export async function readPlanInputs(kind: StackKind, files: SourceFiles): Promise<PlanInputs> {
  if (kind !== "node") return { pkg: null, lock: null };
  // A symlinked or oversized file is refused by readText (SourceError, shown to the pusher as is).
  const text = await files.readText("package.json", MAX_JSON_BYTES);
  if (text === null) throw new PlanError("package.json is missing");
  const pkg = parsePackageJson(text);
  let lock: unknown = null;
  for (const f of ["package-lock.json", "npm-shrinkwrap.json"]) {
    if (!files.has(f)) continue;
    const lockText = (await files.readText(f, MAX_JSON_BYTES)) ?? "";
    try {
      lock = JSON.parse(lockText);
    } catch {
      throw new PlanError(`${f} is not valid JSON`);
    }
    break;
  }
  return { pkg, lock };
}

/** The plan for an app's files, given the stack's Node.js version. */
export function planFor(
  kind: StackKind,
  files: Pick<SourceFiles, "has">,
  inputs: PlanInputs,
  procfile: Record<string, string>,
  stack: { nodeVersion: string | null; tools: string[] },
): BuildPlan {
  if (kind === "static") return planStaticBuild(procfile);
  if (kind === "procfile") return planProcfileBuild(procfile);
  if (!inputs.pkg) throw new PlanError("package.json is missing");
  return planNodeBuild({
    pkg: inputs.pkg,
    lock: inputs.lock,
    has: (f) => files.has(f),
    nodeVersion: stack.nodeVersion ?? "0.0.0",
    tools: stack.tools,
    procfile,
  });
}

/**
 * Builds the app image on `stack` in the app's store (`storage`, which sees the stack store read-only) and commits
 * it to `req.tag`; returns the release's process types. The caller holds the stack's lease until the image has
 * left the app store.
 */
export async function buildOnStack(
  storage: BuilderStorage,
  stack: StackInfo,
  req: StackBuildRequest,
  log: BuildLog,
): Promise<Record<string, string>> {
  const indent = (l: string) => log.line(`       ${l}`);
  log.step(`Using stack ${stack.image} (${stack.description})`);
  const plan = planFor(req.kind, req.files, req.inputs, req.procfile, {
    nodeVersion: stack.nodeVersion,
    tools: stack.recipe.tools,
  });
  for (const w of plan.warnings) log.line(` !     warning: ${w}`);
  if (req.kind === "node" && req.files.present(".npmrc")) {
    // A project .npmrc could point npm (which runs with network access) at any host; Berth uses its own settings.
    // Whatever it is in the commit (file, link, directory), the entry itself goes; rm never follows a link.
    await fs.rm(path.join(req.src, ".npmrc"), { force: true, recursive: true });
    log.line(" !     warning: ignoring the app's .npmrc: dependencies come from the public npm registry");
  }

  const deadline = Date.now() + req.limits.timeoutMs;
  const remaining = () => {
    const ms = deadline - Date.now();
    if (ms <= 0) throw new Error(`the build exceeded its time limit of ${Math.round(req.limits.timeoutMs / 1000)} s`);
    return ms;
  };
  const ctr = `berth-build-${req.app}-${randomBytes(4).toString("hex")}`;
  const buildah = (args: string[], onLine: (l: string) => void = indent, env?: NodeJS.ProcessEnv) =>
    runStreaming("buildah", [...g(storage), ...args], onLine, { timeoutMs: remaining() + 30_000, env });

  await buildah(
    // By id: the leased image, even if a rebuild has moved the name meanwhile.
    ["from", "--quiet", "--pull=never", "--name", ctr, "--memory", req.limits.memory, "--", stack.id],
    () => undefined,
  );
  let committed = false;
  try {
    await buildah(["copy", "--quiet", "--chown", `${APP_UID}:${APP_UID}`, ctr, `${req.src}/`, "/app"], () => undefined);
    let npmCache: string | null = null;
    if (plan.steps.length > 0 && req.kind === "node") {
      // A per-app npm cache kept between builds (only this app's builds ever see it; it goes with the app's store).
      npmCache = req.npmCacheDir;
      await fs.mkdir(npmCache, { recursive: true });
      await fs.chown(npmCache, APP_UID, APP_UID);
    }
    for (const step of plan.steps) {
      log.step(step.label);
      const env = { ...plan.buildEnv, ...req.buildEnv };
      const secs = Math.max(1, Math.floor(remaining() / 1000));
      // The download step runs on the isolated build network (server/builds/build-network.ts), others offline.
      const net = step.network ? await acquireBuildNetwork(req.builderDir) : null;
      const args = [
        "run",
        "--runtime",
        "/usr/sbin/runc",
        "--isolation",
        "oci",
        ...(net ? net.args : ["--network", "none"]),
        "--user",
        plan.user,
        "--workingdir",
        "/app",
        "--cap-drop",
        "all",
      ];
      for (const [k, v] of Object.entries(env)) args.push("--env", `${k}=${v}`);
      if (npmCache) args.push("--volume", `${npmCache}:/tmp/npm-cache`);
      if (step.network) args.push(...hostNetworkTrust());
      // `timeout` inside the container ends the step itself, so no process outlives a build that ran out of time.
      args.push(ctr, "--", "timeout", "-k", "10", String(secs), ...step.argv);
      let last = "";
      try {
        await buildah(
          args,
          (l) => {
            last = l;
            indent(l);
          },
          net?.env,
        );
      } catch (err) {
        const msg = err instanceof Error ? err.message : String(err);
        // `timeout` exits 124 (137 after its SIGKILL); buildah reports the runtime's status on its last line.
        const timedOut = /exit status (124|137)\b/.test(last) || /time limit/.test(msg);
        throw new PlanError(
          timedOut
            ? `${step.label}: exceeded the build time limit`
            : `${step.label} failed (${msg.replace(/^buildah /, "")})`,
        );
      } finally {
        await net?.release();
      }
    }
    const config = [
      "config",
      "--workingdir",
      "/app",
      "--user",
      plan.user,
      "--port",
      `${plan.port}/tcp`,
      "--label",
      `berth.stack=${stack.image}`,
    ];
    for (const [k, v] of Object.entries(plan.env)) config.push("--env", `${k}=${v}`);
    if (plan.cmd) config.push("--cmd", JSON.stringify(plan.cmd));
    await buildah([...config, ctr]);
    await buildah(["commit", "--quiet", "--rm", ctr, req.tag], () => undefined);
    committed = true;
  } finally {
    if (!committed) await runStreaming("buildah", [...g(storage), "rm", ctr], () => undefined).catch(() => undefined);
  }
  log.step(
    `Process types: ${Object.entries(plan.processTypes)
      .map(([t, c]) => `${t} (${c})`)
      .join(", ")}`,
  );
  return plan.processTypes;
}
