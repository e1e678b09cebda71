// Builds an app without a Dockerfile on a platform stack: `buildah from <stack>`, copy the source to /app, run the
// plan's steps (each an argv array, as the unprivileged app user, without network unless the step must download
// dependencies), set CMD/ENV/WORKDIR/USER/PORT and commit the image under the app's local tag.
import { randomBytes } from "node:crypto";
import { existsSync } from "node:fs";
import fs from "node:fs/promises";
import path from "node:path";
import { runStreaming, type BuilderStorage, type BuildLimits } from "../buildah.ts";
import { acquireBuildNetwork } from "../build-network.ts";
import {
  parsePackageJson,
  planNodeBuild,
  planProcfileBuild,
  planStaticBuild,
  PlanError,
  type BuildPlan,
  type StackKind,
} from "./plan.ts";
import { APP_UID } from "./recipe.ts";
import { ensureStack, type StackOptions } from "./stacks.ts";

export { PlanError } from "./plan.ts";

export interface StackBuildRequest {
  kind: StackKind;
  app: string;
  /** The exported source tree (already checked for escaping symlinks); may be modified (e.g. .npmrc removed). */
  src: string;
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

function g(s: BuilderStorage): string[] {
  return ["--root", s.root, "--runroot", s.runRoot, "--storage-driver", "overlay"];
}

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

/** Reads and parses a JSON file of the source, with a size cap and a clear error. */
async function readJson(file: string, label: string): Promise<string> {
  const st = await fs.lstat(file);
  if (!st.isFile()) throw new PlanError(`${label} must be a regular file`);
  if (st.size > MAX_JSON_BYTES) throw new PlanError(`${label} is larger than ${MAX_JSON_BYTES / 1024 / 1024} MiB`);
  return fs.readFile(file, "utf8");
}

/** The plan for a source tree, given the stack's Node.js version. */
export async function planFor(
  kind: StackKind,
  src: string,
  procfile: Record<string, string>,
  stack: { nodeVersion: string | null; tools: string[] },
): Promise<BuildPlan> {
  if (kind === "static") return planStaticBuild(procfile);
  if (kind === "procfile") return planProcfileBuild(procfile);
  const has = (f: string) => existsSync(path.join(src, f));
  const pkg = parsePackageJson(await readJson(path.join(src, "package.json"), "package.json"));
  let lock: unknown = null;
  for (const f of ["package-lock.json", "npm-shrinkwrap.json"]) {
    if (!has(f)) continue;
    try {
      lock = JSON.parse(await readJson(path.join(src, f), f));
    } catch (err) {
      if (err instanceof PlanError) throw err;
      throw new PlanError(`${f} is not valid JSON`);
    }
    break;
  }
  return planNodeBuild({ pkg, lock, has, nodeVersion: stack.nodeVersion ?? "0.0.0", tools: stack.tools, procfile });
}

/** Builds the app image on its stack; returns the release's process types. */
export async function buildOnStack(
  storage: BuilderStorage,
  req: StackBuildRequest,
  log: BuildLog,
  stackOpts: StackOptions = {},
): Promise<Record<string, string>> {
  const indent = (l: string) => log.line(`       ${l}`);
  const stack = await ensureStack(storage, req.kind === "static" ? "static" : "node", { ...stackOpts, onLine: indent });
  log.step(`Using stack ${stack.image} (${stack.description})`);
  const plan = await planFor(req.kind, req.src, req.procfile, {
    nodeVersion: stack.nodeVersion,
    tools: stack.recipe.tools,
  });
  for (const w of plan.warnings) log.line(` !     warning: ${w}`);
  if (req.kind === "node" && existsSync(path.join(req.src, ".npmrc"))) {
    // A project .npmrc could point npm (which runs with network access) at any host; Berth uses its own settings.
    await fs.rm(path.join(req.src, ".npmrc"), { force: true });
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
    ["from", "--quiet", "--pull=never", "--name", ctr, "--memory", req.limits.memory, "--", stack.image],
    () => undefined,
  );
  let committed = false;
  try {
    await buildah(["copy", "--quiet", "--chown", `${APP_UID}:${APP_UID}`, ctr, `${req.src}/`, "/app"], () => undefined);
    let npmCache: string | null = null;
    if (plan.steps.length > 0 && req.kind === "node") {
      // A per-app npm cache kept between builds (only this app's builds ever see it).
      npmCache = path.join(path.dirname(storage.root), "cache", req.app, "npm");
      await fs.mkdir(npmCache, { recursive: true });
      await fs.chown(npmCache, APP_UID, APP_UID);
    }
    for (const step of plan.steps) {
      log.step(step.label);
      const env = { ...plan.buildEnv, ...req.buildEnv };
      const secs = Math.max(1, Math.floor(remaining() / 1000));
      // The download step runs on the isolated build network (server/builds/build-network.ts), others offline.
      const net = step.network ? await acquireBuildNetwork(storage) : null;
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
