// Build plans for apps without a Dockerfile: which stack, which steps (each an argv run inside the build
// container), which environment and which process types. Pure: the inputs are the parsed files of the source.
import { satisfies } from "./semver.ts";
import { APP_UID } from "./recipe.ts";

export type StackKind = "node" | "static" | "procfile";

/** The registry the networked install step may reach; dependencies from anywhere else are refused. */
export const NPM_REGISTRY = "https://registry.npmjs.org/";

/** Raised for problems in the app's own files; its message is shown to the pusher as is. */
export class PlanError extends Error {}

export interface BuildStep {
  /** Heading printed before the step runs. */
  label: string;
  argv: string[];
  /** Whether the step gets network access (only the dependency download does, see docs/build-pipeline.md). */
  network: boolean;
}

export interface BuildPlan {
  stack: "node" | "static";
  steps: BuildStep[];
  warnings: string[];
  /** Environment baked into the image. */
  env: Record<string, string>;
  /** Environment for build steps only. */
  buildEnv: Record<string, string>;
  processTypes: Record<string, string>;
  /** Image CMD (the web process when there is one). */
  cmd: string[] | null;
  user: string;
  port: number;
}

export interface PackageJson {
  name?: unknown;
  scripts?: Record<string, unknown>;
  engines?: { node?: unknown };
  dependencies?: Record<string, unknown>;
  devDependencies?: Record<string, unknown>;
  optionalDependencies?: Record<string, unknown>;
  overrides?: unknown;
  packageManager?: unknown;
  workspaces?: unknown;
}

export type PackageManager =
  | { tool: "npm"; command: "ci"; lockfile: string }
  | { tool: "npm"; command: "install"; lockfile: null }
  | { tool: "yarn"; lockfile: string | null }
  | { tool: "pnpm"; lockfile: string | null };

const DEFAULT_PORT = 5000;
const PATH_VALUE = "/app/node_modules/.bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";
const NPM_FLAGS = ["--no-audit", "--no-fund", "--no-update-notifier"];

/** Parses package.json text; a clear error instead of a stack trace when it is not a JSON object. */
export function parsePackageJson(text: string): PackageJson {
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch (err) {
    throw new PlanError(`package.json is not valid JSON: ${err instanceof Error ? err.message : String(err)}`);
  }
  if (!v || typeof v !== "object" || Array.isArray(v)) throw new PlanError("package.json must be a JSON object");
  const pkg = v as PackageJson;
  for (const k of ["scripts", "dependencies", "devDependencies", "optionalDependencies"] as const) {
    const f = pkg[k];
    if (f !== undefined && (typeof f !== "object" || f === null || Array.isArray(f)))
      throw new PlanError(`package.json: "${k}" must be an object`);
  }
  return pkg;
}

/** The package manager the app asks for: its lockfile decides, then `packageManager`, else `npm install`. */
export function detectPackageManager(has: (f: string) => boolean, pkg: PackageJson): PackageManager {
  if (has("package-lock.json")) return { tool: "npm", command: "ci", lockfile: "package-lock.json" };
  if (has("npm-shrinkwrap.json")) return { tool: "npm", command: "ci", lockfile: "npm-shrinkwrap.json" };
  if (has("yarn.lock")) return { tool: "yarn", lockfile: "yarn.lock" };
  if (has("pnpm-lock.yaml")) return { tool: "pnpm", lockfile: "pnpm-lock.yaml" };
  const pm = typeof pkg.packageManager === "string" ? pkg.packageManager.split("@")[0] : "";
  if (pm === "yarn" || pm === "pnpm") return { tool: pm, lockfile: null };
  return { tool: "npm", command: "install", lockfile: null };
}

/** A warning when `engines.node` asks for a Node.js the stack does not have; null when it is satisfied or absent. */
export function checkEngines(pkg: PackageJson, nodeVersion: string): string | null {
  const range = pkg.engines?.node;
  if (range === undefined) return null;
  if (typeof range !== "string") return `engines.node is not a string; ignoring it and using Node.js ${nodeVersion}`;
  const ok = satisfies(nodeVersion, range);
  if (ok === true) return null;
  if (ok === null)
    return `engines.node "${range}" is not a version range Berth understands; using Node.js ${nodeVersion}`;
  return (
    `engines.node asks for "${range}" but this stack has Node.js ${nodeVersion} (Debian's nodejs package); ` +
    `building with ${nodeVersion} anyway. The app may fail at run time: test it on Node.js ${nodeVersion}, or add a Dockerfile`
  );
}

const deps = (pkg: PackageJson) => ({
  ...(pkg.optionalDependencies ?? {}),
  ...(pkg.devDependencies ?? {}),
  ...(pkg.dependencies ?? {}),
});

/** True when the install step has anything to download. */
export function hasDependencies(pkg: PackageJson): boolean {
  return Object.keys(deps(pkg)).length > 0;
}

/** A dependency spec npm resolves through the registry (a semver range, a dist-tag or an `npm:` alias of one). */
function isRegistrySpec(spec: string): boolean {
  const s = spec.startsWith("npm:") ? spec.slice(4).replace(/^(@[^/]+\/)?[^@]+@?/, "") : spec;
  if (/^(file|link|workspace):/.test(s)) return !/^(file|link):(\/|~)/.test(s) && !s.includes("..");
  // URLs, git remotes and GitHub "user/repo" shorthands make npm fetch from hosts other than the registry.
  return !/[:/]/.test(s);
}

/**
 * Dependencies that would make the networked install step fetch from somewhere other than the npm registry (git,
 * tarball URLs, file paths outside the app). The install step runs with network access, so these are refused.
 */
export function foreignDependencySources(pkg: PackageJson, lock: unknown): string[] {
  const bad: string[] = [];
  for (const [name, spec] of Object.entries(deps(pkg))) {
    if (typeof spec !== "string" || !isRegistrySpec(spec)) bad.push(`${name}@${String(spec).slice(0, 80)}`);
  }
  const walkOverrides = (v: unknown, at: string) => {
    if (typeof v === "string") {
      if (!isRegistrySpec(v) && !v.startsWith("$")) bad.push(`overrides ${at}: ${v.slice(0, 80)}`);
    } else if (v && typeof v === "object") {
      for (const [k, sub] of Object.entries(v)) walkOverrides(sub, at ? `${at} > ${k}` : k);
    }
  };
  walkOverrides(pkg.overrides, "");
  const checkResolved = (where: string, resolved: unknown) => {
    if (resolved === undefined) return;
    if (typeof resolved !== "string") bad.push(`${where}: resolved is not a string`);
    else if (!resolved.startsWith(NPM_REGISTRY) && !/^file:(?!\/)/.test(resolved))
      bad.push(`${where} resolved from ${resolved.slice(0, 100)}`);
  };
  if (lock && typeof lock === "object") {
    const l = lock as {
      packages?: Record<string, { resolved?: unknown; link?: unknown }>;
      dependencies?: Record<string, unknown>;
    };
    for (const [where, entry] of Object.entries(l.packages ?? {})) {
      if (where === "" || !entry || typeof entry !== "object") continue;
      if (entry.link === true) continue; // a workspace link inside the app; `resolved` is a relative path
      checkResolved(where, entry.resolved);
    }
    // Lockfile v1: a nested `dependencies` tree.
    const walk = (tree: unknown, at: string) => {
      if (!tree || typeof tree !== "object") return;
      for (const [name, e] of Object.entries(tree as Record<string, unknown>)) {
        if (!e || typeof e !== "object") continue;
        const entry = e as { resolved?: unknown; version?: unknown; dependencies?: unknown };
        checkResolved(`${at}${name}`, entry.resolved);
        if (entry.resolved === undefined && typeof entry.version === "string" && !isRegistrySpec(entry.version))
          bad.push(`${at}${name}@${entry.version.slice(0, 80)}`);
        walk(entry.dependencies, `${at}${name} > `);
      }
    };
    if (!l.packages) walk(l.dependencies, "");
  }
  return bad;
}

/** Whether any locked package runs install scripts (lockfile v2/v3 records it); unknown counts as yes. */
function mayHaveInstallScripts(lock: unknown): boolean {
  if (!lock || typeof lock !== "object") return true;
  const packages = (lock as { packages?: Record<string, { hasInstallScript?: unknown }> }).packages;
  if (!packages) return true;
  return Object.entries(packages).some(
    ([k, p]) => k !== "" && p && typeof p === "object" && p.hasInstallScript === true,
  );
}

const shellCmd = (cmd: string) => ["/bin/sh", "-c", `exec ${cmd}`];

/** The steps, environment and process types of a Node.js app (package.json at the root). */
export function planNodeBuild(input: {
  pkg: PackageJson;
  lock: unknown;
  has: (f: string) => boolean;
  nodeVersion: string;
  tools: string[];
  procfile: Record<string, string>;
}): BuildPlan {
  const { pkg, lock, has, procfile } = input;
  const warnings: string[] = [];
  const engines = checkEngines(pkg, input.nodeVersion);
  if (engines) warnings.push(engines);
  const steps: BuildStep[] = [];
  const scripts = pkg.scripts ?? {};
  const script = (name: string) => typeof scripts[name] === "string" && (scripts[name] as string).trim() !== "";

  if (hasDependencies(pkg)) {
    const pm = detectPackageManager(has, pkg);
    if (pm.tool !== "npm") {
      const why = pm.lockfile
        ? `${pm.lockfile} asks for ${pm.tool}`
        : `package.json "packageManager" asks for ${pm.tool}`;
      if (!input.tools.includes(pm.tool))
        throw new PlanError(
          `${why}, which the Node.js stack does not have (it has npm only). ` +
            `Commit a package-lock.json instead (npm install --package-lock-only) and remove ${pm.lockfile ?? "the packageManager field"}, or add a Dockerfile`,
        );
    }
    if (pm.tool === "npm") {
      if (pm.command === "install")
        warnings.push(
          "no package-lock.json: installing with `npm install`, so versions may differ between builds; commit a lockfile",
        );
      if (Array.isArray(pkg.workspaces) || (pkg.workspaces && typeof pkg.workspaces === "object"))
        warnings.push("npm workspaces are built as one app from the repository root");
      const foreign = foreignDependencySources(pkg, lock);
      if (foreign.length > 0)
        throw new PlanError(
          `dependencies must come from the npm registry (${NPM_REGISTRY}); the install step refuses: ${foreign.slice(0, 5).join(", ")}` +
            (foreign.length > 5 ? ` and ${foreign.length - 5} more` : ""),
        );
      // Download only (no scripts run while the network is on), then run install scripts offline.
      steps.push({
        label:
          pm.command === "ci"
            ? `Installing dependencies with npm ci (${pm.lockfile})`
            : "Installing dependencies with npm install",
        argv: ["npm", pm.command, "--ignore-scripts", `--registry=${NPM_REGISTRY}`, ...NPM_FLAGS],
        network: true,
      });
      if (pm.command === "install" || mayHaveInstallScripts(lock))
        steps.push({
          label: "Running dependency install scripts (no network)",
          argv: ["npm", "rebuild", "--offline", ...NPM_FLAGS],
          network: false,
        });
    }
  }
  for (const lifecycle of ["preinstall", "install", "postinstall", "prepare"]) {
    if (script(lifecycle))
      steps.push({
        label: `Running ${lifecycle} script`,
        argv: ["npm", "run", lifecycle, "--offline", ...NPM_FLAGS],
        network: false,
      });
  }
  if (script("build"))
    steps.push({
      label: "Running build script (npm run build)",
      argv: ["npm", "run", "build", "--offline", ...NPM_FLAGS],
      network: false,
    });
  if (pkg.devDependencies && Object.keys(pkg.devDependencies).length > 0)
    steps.push({
      label: "Removing devDependencies",
      argv: ["npm", "prune", "--omit=dev", "--offline", ...NPM_FLAGS],
      network: false,
    });

  const processTypes = { ...procfile };
  if (!processTypes.web) {
    if (script("start")) processTypes.web = "npm start";
    else if (has("server.js")) processTypes.web = "node server.js";
  }
  if (Object.keys(processTypes).length === 0)
    throw new PlanError(
      'no web process: add a "start" script to package.json, a server.js, or a Procfile with a web entry',
    );
  const env = {
    NODE_ENV: "production",
    PORT: String(DEFAULT_PORT),
    HOME: "/app",
    PATH: PATH_VALUE,
    npm_config_update_notifier: "false",
  };
  return {
    stack: "node",
    steps,
    warnings,
    env,
    buildEnv: { HOME: "/app", PATH: PATH_VALUE, npm_config_cache: "/tmp/npm-cache", CI: "true" },
    processTypes,
    cmd: processTypes.web ? shellCmd(processTypes.web) : null,
    user: `${APP_UID}:${APP_UID}`,
    port: DEFAULT_PORT,
  };
}

/** A static site: busybox httpd serving /app on $PORT, unless the Procfile says otherwise. */
export function planStaticBuild(procfile: Record<string, string>): BuildPlan {
  const processTypes = { web: 'httpd -f -v -p "$PORT" -h /app', ...procfile };
  return {
    stack: "static",
    steps: [],
    warnings: [],
    env: { PORT: String(DEFAULT_PORT), HOME: "/app" },
    buildEnv: {},
    processTypes,
    cmd: processTypes.web ? shellCmd(processTypes.web) : null,
    user: `${APP_UID}:${APP_UID}`,
    port: DEFAULT_PORT,
  };
}

/** A Procfile-only app: the Debian base stack with the source at /app and the Procfile's commands. */
export function planProcfileBuild(procfile: Record<string, string>): BuildPlan {
  if (Object.keys(procfile).length === 0) throw new PlanError("the Procfile defines no process types");
  return {
    stack: "node",
    steps: [],
    warnings: [],
    env: { PORT: String(DEFAULT_PORT), HOME: "/app", PATH: PATH_VALUE },
    buildEnv: {},
    processTypes: { ...procfile },
    cmd: procfile.web ? shellCmd(procfile.web) : null,
    user: `${APP_UID}:${APP_UID}`,
    port: DEFAULT_PORT,
  };
}
