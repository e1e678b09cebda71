// The CLI bundle (dist/berth-cli.cjs, built by `npm ci` through scripts/bundle.mjs): the installed bundles match
// their sources byte for byte (a stale one fails here); the CLI bundle holds no server code; and in a copy of the
// checkout, the launcher builds a missing bundle, notices a changed source and rebuilds, and falls back to the
// TypeScript sources with a one-line notice when it cannot write the bundle.
import { execFileSync, spawnSync } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

const ROOT = path.resolve(import.meta.dirname, "../..");
const STAMP = /^\/\/ berth-bundle (.*)$/m;
let tmp = "";

beforeAll(() => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), "berth-cli-bundle-"));
});
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

/** `node scripts/bundle.mjs args...` in `root`: exit code and output. */
function bundleScript(root: string, args: string[]) {
  const r = spawnSync(process.execPath, [path.join(root, "scripts", "bundle.mjs"), ...args], {
    cwd: root,
    encoding: "utf8",
  });
  return { code: r.status, out: `${r.stdout}${r.stderr}` };
}

/** `berth args...` through the launcher of the checkout at `root`. */
function berthIn(root: string, args: string[]) {
  const r = spawnSync(process.execPath, [path.join(root, "bin", "berth.mjs"), ...args], {
    cwd: tmp,
    encoding: "utf8",
    env: { ...process.env, XDG_CONFIG_HOME: path.join(tmp, "config"), BERTH_URL: "http://127.0.0.1:9" },
    timeout: 60_000,
  });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

describe("installed bundles", () => {
  it("are fresh, and identical to a new build of the sources", () => {
    expect(bundleScript(ROOT, ["--check"])).toEqual({ code: 0, out: "" });
    for (const file of ["berth-cli.cjs", "berth-agent.mjs"]) {
      const fresh = path.join(tmp, `fresh-${file}`);
      expect(bundleScript(ROOT, [file.includes("cli") ? "cli" : "agent", `--outfile=${fresh}`]).code).toBe(0);
      const installed = fs.readFileSync(path.join(ROOT, "dist", file));
      expect(installed.equals(fs.readFileSync(fresh)), `dist/${file} differs from a fresh build`).toBe(true);
    }
  });

  it("the CLI bundle is built from cli/ and shared/ alone: no server, agent or dashboard code", () => {
    const text = fs.readFileSync(path.join(ROOT, "dist", "berth-cli.cjs"), "utf8");
    const stamp = JSON.parse(STAMP.exec(text)?.[1] ?? "null") as { inputs: string[] };
    expect(stamp.inputs).toContain("cli/main.ts");
    // shared/ holds the name rules and wire types, plain TypeScript with no imports (eslint.config.js).
    const outside = stamp.inputs.filter((p) => !p.startsWith("cli/") && !p.startsWith("shared/"));
    expect(outside).toEqual(["package-lock.json", "scripts/bundle.mjs"]);
  });
});

describe("the launcher in a checkout", () => {
  let copy = "";
  beforeAll(() => {
    copy = path.join(tmp, "checkout");
    for (const part of ["cli", "shared", "bin", "scripts", "package.json", "package-lock.json"]) {
      fs.cpSync(path.join(ROOT, part), path.join(copy, part), { recursive: true });
    }
    fs.symlinkSync(path.join(ROOT, "node_modules"), path.join(copy, "node_modules"));
  });

  it("builds a missing bundle and runs it; the next call runs it from V8's code cache", () => {
    const r = berthIn(copy, ["--version"]);
    expect(r).toMatchObject({ code: 0, stdout: "0.1.0\n", stderr: "" });
    expect(bundleScript(copy, ["--check", "cli"]).code).toBe(0);
    const cache = path.join(copy, "dist", "berth-cli.cjs.v8cache");
    expect(fs.statSync(cache).size).toBeGreaterThan(10_000);
    const written = fs.statSync(cache).mtimeMs;
    expect(berthIn(copy, ["--version"])).toMatchObject({ code: 0, stdout: "0.1.0\n", stderr: "" });
    // Accepted by V8, so not written again; a broken cache is rejected by V8 and replaced, never fatal.
    expect(fs.statSync(cache).mtimeMs).toBe(written);
    fs.writeFileSync(cache, "not a code cache");
    expect(berthIn(copy, ["--version"])).toMatchObject({ code: 0, stdout: "0.1.0\n", stderr: "" });
    expect(fs.statSync(cache).size).toBeGreaterThan(10_000);
  });

  it("notices a changed source, rebuilds, and runs the new code", () => {
    const file = path.join(copy, "cli", "commands", "open.ts");
    const before = fs.readFileSync(path.join(copy, "dist", "berth-cli.cjs"), "utf8");
    fs.writeFileSync(
      file,
      fs.readFileSync(file, "utf8").replace("open the app's web URL in the browser", "OPENS-IT-CHANGED"),
    );
    const check = bundleScript(copy, ["--check", "cli"]);
    expect(check.code).toBe(1);
    expect(check.out).toContain("dist/berth-cli.cjs is stale");
    const r = berthIn(copy, ["--help"]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toBe("");
    expect(r.stdout).toContain("OPENS-IT-CHANGED");
    expect(fs.readFileSync(path.join(copy, "dist", "berth-cli.cjs"), "utf8")).not.toBe(before);
    expect(bundleScript(copy, ["--check", "cli"]).code).toBe(0);
  });

  it("runs the sources with a one-line notice when it cannot write the bundle", () => {
    fs.rmSync(path.join(copy, "dist"), { recursive: true, force: true });
    // A file where dist/ should be: even root cannot create the bundle there.
    fs.writeFileSync(path.join(copy, "dist"), "");
    const file = path.join(copy, "cli", "commands", "open.ts");
    fs.writeFileSync(file, fs.readFileSync(file, "utf8").replace("OPENS-IT-CHANGED", "FROM-SOURCES"));
    const r = berthIn(copy, ["--help"]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain("FROM-SOURCES");
    expect(r.stderr.trim().split("\n")).toHaveLength(1);
    expect(r.stderr).toMatch(
      /^berth: cannot rebuild dist\/berth-cli\.cjs \(.+\); running the TypeScript sources \(slower\)$/m,
    );
  });

  it("the build script names nothing outside the checkout", () => {
    execFileSync(process.execPath, [
      path.join(copy, "scripts", "bundle.mjs"),
      "cli",
      `--outfile=${path.join(tmp, "c.cjs")}`,
    ]);
    const stamp = JSON.parse(STAMP.exec(fs.readFileSync(path.join(tmp, "c.cjs"), "utf8"))?.[1] ?? "null") as {
      inputs: string[];
    };
    expect(stamp.inputs.every((p) => !p.startsWith("..") && !path.isAbsolute(p))).toBe(true);
  });
});
