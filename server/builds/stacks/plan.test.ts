import { describe, expect, it } from "vitest";
import {
  checkEngines,
  detectPackageManager,
  foreignDependencySources,
  hasDependencies,
  NPM_REGISTRY,
  parsePackageJson,
  PlanError,
  planNodeBuild,
  planProcfileBuild,
  planStaticBuild,
  type PackageJson,
} from "./plan.ts";

const files =
  (...names: string[]) =>
  (f: string) =>
    names.includes(f);
const node = (
  pkg: PackageJson,
  opts: { has?: string[]; lock?: unknown; procfile?: Record<string, string>; tools?: string[] } = {},
) =>
  planNodeBuild({
    pkg,
    lock: opts.lock ?? null,
    has: files("package.json", ...(opts.has ?? [])),
    nodeVersion: "18.20.4",
    tools: opts.tools ?? ["sh", "node", "npm"],
    procfile: opts.procfile ?? {},
  });

describe("detectPackageManager", () => {
  it("follows the lockfile, then packageManager, else npm install", () => {
    expect(detectPackageManager(files("package-lock.json", "yarn.lock"), {})).toEqual({
      tool: "npm",
      command: "ci",
      lockfile: "package-lock.json",
    });
    expect(detectPackageManager(files("npm-shrinkwrap.json"), {})).toMatchObject({ tool: "npm", command: "ci" });
    expect(detectPackageManager(files("yarn.lock"), {})).toEqual({ tool: "yarn", lockfile: "yarn.lock" });
    expect(detectPackageManager(files("pnpm-lock.yaml"), {})).toEqual({ tool: "pnpm", lockfile: "pnpm-lock.yaml" });
    expect(detectPackageManager(files(), { packageManager: "pnpm@9.1.0" })).toEqual({ tool: "pnpm", lockfile: null });
    expect(detectPackageManager(files(), {})).toEqual({ tool: "npm", command: "install", lockfile: null });
  });
});

describe("checkEngines", () => {
  it("is quiet when the stack's Node.js satisfies engines.node or there is none", () => {
    expect(checkEngines({}, "18.20.4")).toBeNull();
    for (const r of [">=16", "18", "18.x", "^18.0.0", "~18.20", ">=14 <19", "16 || 18", "*", "16 - 18", ">= 18"])
      expect(checkEngines({ engines: { node: r } }, "18.20.4"), r).toBeNull();
  });
  it("warns clearly when it asks for another major version", () => {
    const w = checkEngines({ engines: { node: ">=20" } }, "18.20.4");
    expect(w).toContain('engines.node asks for ">=20" but this stack has Node.js 18.20.4');
    for (const r of ["20.x", "^20.9.0", "22", "<18", "~18.21", "16 || 20", ">18.20.4"])
      expect(checkEngines({ engines: { node: r } }, "18.20.4"), r).not.toBeNull();
  });
  it("says so when it cannot read the range, and does not guess", () => {
    expect(checkEngines({ engines: { node: "latest" } }, "18.20.4")).toContain("not a version range Berth understands");
    expect(checkEngines({ engines: { node: 18 } }, "18.20.4")).toContain("not a string");
  });
});

describe("foreignDependencySources", () => {
  it("accepts registry ranges, tags, aliases and local file: paths", () => {
    const pkg = { dependencies: { a: "^1.2.3", b: "latest", c: "npm:d@^2", e: "file:./vendor/e", f: "1.x || 2" } };
    expect(foreignDependencySources(pkg, null)).toEqual([]);
  });
  it("refuses git, URLs, GitHub shorthands and paths outside the app", () => {
    const pkg = {
      dependencies: {
        a: "git+ssh://git@example.com/a.git",
        b: "https://127.0.0.1:5000/b.tgz",
        c: "user/repo",
        d: "file:../d",
        e: "file:/etc",
      },
    };
    expect(foreignDependencySources(pkg, null).map((b) => b.split("@")[0])).toEqual(["a", "b", "c", "d", "e"]);
  });
  it("checks every resolved URL of a lockfile (v3 packages and v1 dependencies)", () => {
    const v3 = {
      packages: {
        "": { name: "x" },
        "node_modules/ok": { resolved: `${NPM_REGISTRY}ok/-/ok-1.0.0.tgz` },
        "node_modules/bad": { resolved: "http://169.254.169.254/latest/bad.tgz" },
        "packages/w": { link: true, resolved: "packages/w" },
      },
    };
    expect(foreignDependencySources({}, v3)).toEqual([
      "node_modules/bad resolved from http://169.254.169.254/latest/bad.tgz",
    ]);
    const v1 = {
      dependencies: {
        a: { version: "1.0.0", resolved: "https://evil.example/a.tgz", dependencies: { b: { version: "github:x/y" } } },
      },
    };
    expect(foreignDependencySources({}, v1)).toEqual([
      "a resolved from https://evil.example/a.tgz",
      "a > b@github:x/y",
    ]);
  });
  it("checks overrides too", () => {
    expect(foreignDependencySources({ overrides: { a: { b: "https://x/b.tgz" } } }, null)).toEqual([
      "overrides a > b: https://x/b.tgz",
    ]);
  });
});

describe("planNodeBuild", () => {
  it("needs no step (and no network) for an app without dependencies", () => {
    const plan = node(
      { scripts: { start: "node server.js" } },
      { procfile: { web: "node server.js", worker: "node worker.js" } },
    );
    expect(plan.steps).toEqual([]);
    expect(plan.processTypes).toEqual({ web: "node server.js", worker: "node worker.js" });
    expect(plan.cmd).toEqual(["/bin/sh", "-c", "exec node server.js"]);
    expect(plan.env).toMatchObject({ NODE_ENV: "production", PORT: "5000" });
    expect(plan.user).toBe("1000:1000");
    expect(hasDependencies({ dependencies: {} })).toBe(false);
  });
  it("defaults web to npm start, or node server.js like npm does", () => {
    expect(node({ scripts: { start: "node index.js" } }).processTypes).toEqual({ web: "npm start" });
    expect(node({}, { has: ["server.js"] }).processTypes).toEqual({ web: "node server.js" });
    expect(() => node({})).toThrow(PlanError);
    expect(node({}, { procfile: { worker: "node w.js" } }).cmd).toBeNull();
  });
  it("downloads with npm ci (scripts off, network on), then runs scripts, build and prune offline", () => {
    const lock = {
      lockfileVersion: 3,
      packages: { "": {}, "node_modules/x": { resolved: `${NPM_REGISTRY}x/-/x-1.0.0.tgz`, hasInstallScript: true } },
    };
    const plan = node(
      {
        dependencies: { x: "^1" },
        devDependencies: { t: "^2" },
        scripts: { build: "tsc", start: "node dist/index.js", postinstall: "echo hi" },
      },
      { has: ["package-lock.json"], lock },
    );
    expect(plan.steps.map((s) => [s.argv.slice(0, 3).join(" "), s.network])).toEqual([
      ["npm ci --ignore-scripts", true],
      ["npm rebuild --offline", false],
      ["npm run postinstall", false],
      ["npm run build", false],
      ["npm prune --omit=dev", false],
    ]);
    expect(plan.steps[0]?.argv).toContain(`--registry=${NPM_REGISTRY}`);
    expect(plan.steps[0]?.label).toContain("npm ci (package-lock.json)");
  });
  it("skips npm rebuild when the lockfile says no package has install scripts", () => {
    const lock = {
      lockfileVersion: 3,
      packages: { "": {}, "node_modules/x": { resolved: `${NPM_REGISTRY}x/-/x-1.0.0.tgz` } },
    };
    const plan = node(
      { dependencies: { x: "^1" }, scripts: { start: "node ." } },
      { has: ["package-lock.json"], lock },
    );
    expect(plan.steps.map((s) => s.argv[1])).toEqual(["ci"]);
  });
  it("uses npm install without a lockfile, with a warning", () => {
    const plan = node({ dependencies: { x: "^1" }, scripts: { start: "node ." } });
    expect(plan.steps.map((s) => s.argv[1])).toEqual(["install", "rebuild"]);
    expect(plan.warnings.join("\n")).toContain("no package-lock.json");
  });
  it("fails clearly for yarn or pnpm lockfiles, which the stack cannot honour", () => {
    expect(() => node({ dependencies: { x: "^1" } }, { has: ["yarn.lock"] })).toThrow(
      /yarn\.lock asks for yarn, which the Node\.js stack does not have/,
    );
    expect(() => node({ dependencies: { x: "^1" } }, { has: ["pnpm-lock.yaml"] })).toThrow(/pnpm/);
  });
  it("refuses dependencies from outside the registry before anything runs with network", () => {
    expect(() => node({ dependencies: { x: "git+https://example.com/x.git" }, scripts: { start: "node ." } })).toThrow(
      /dependencies must come from the npm registry/,
    );
  });
  it("carries the engines.node warning", () => {
    expect(node({ engines: { node: ">=22" }, scripts: { start: "node ." } }).warnings[0]).toContain("engines.node");
  });
});

describe("parsePackageJson", () => {
  it("explains invalid files", () => {
    expect(() => parsePackageJson("{")).toThrow(/not valid JSON/);
    expect(() => parsePackageJson("[]")).toThrow(/JSON object/);
    expect(() => parsePackageJson('{"scripts": "x"}')).toThrow(/"scripts" must be an object/);
    expect(parsePackageJson('{"name":"a"}')).toEqual({ name: "a" });
  });
});

describe("static and Procfile plans", () => {
  it("serves a static site with busybox httpd on $PORT", () => {
    const plan = planStaticBuild({});
    expect(plan.stack).toBe("static");
    expect(plan.processTypes.web).toBe('httpd -f -v -p "$PORT" -h /app');
    expect(plan.cmd).toEqual(["/bin/sh", "-c", 'exec httpd -f -v -p "$PORT" -h /app']);
    expect(planStaticBuild({ web: "httpd -f -p $PORT -h /app/public" }).processTypes.web).toBe(
      "httpd -f -p $PORT -h /app/public",
    );
  });
  it("takes a Procfile-only app's commands as they are", () => {
    const plan = planProcfileBuild({ web: "./bin/server", clock: "./bin/clock" });
    expect(plan.stack).toBe("node");
    expect(plan.processTypes).toEqual({ web: "./bin/server", clock: "./bin/clock" });
    expect(plan.steps).toEqual([]);
    expect(() => planProcfileBuild({})).toThrow(/no process types/);
  });
});
