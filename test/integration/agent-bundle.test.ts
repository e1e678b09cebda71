// The single-file agent (npm run build:agent): it builds, and plain `node` runs it with nothing else installed next
// to it (no node_modules, no tsx): it gets as far as its root check, and as root as far as config validation.
import { execFileSync, spawnSync } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, expect, it } from "vitest";

const root = path.resolve(import.meta.dirname, "../..");
let dir = "";
let bundle = "";

beforeAll(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), "berth-agent-bundle-"));
  fs.chmodSync(dir, 0o755);
  bundle = path.join(dir, "berth-agent.mjs");
  execFileSync(process.execPath, ["scripts/build-agent.mjs", `--outfile=${bundle}`], { cwd: root, stdio: "pipe" });
});
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

const isRoot = process.getuid?.() === 0;
const env: NodeJS.ProcessEnv = { PATH: process.env.PATH ?? "/usr/bin:/bin", HOME: "/tmp", NODE_ENV: "production" };

it("is one self-contained file that refuses to run without root, in one line", () => {
  const text = fs.readFileSync(bundle, "utf8");
  expect(text.startsWith("#!/usr/bin/env node\n")).toBe(true);
  // Nothing is left to resolve at run time except Node's own modules.
  expect(text).not.toMatch(/from\s+["'](?!node:)[a-z@][^"']*["']/);
  const r = spawnSync(process.execPath, [bundle], {
    cwd: dir,
    env,
    encoding: "utf8",
    timeout: 30_000,
    ...(isRoot ? { uid: 65534, gid: 65534 } : {}),
  });
  expect(r.status).toBe(1);
  expect(r.stderr.trim().split("\n")).toHaveLength(1);
  expect(r.stderr).toMatch(/^berth-agent: needs root/);
});

it.runIf(isRoot)("as root, it loads its whole dependency graph and validates its configuration", () => {
  const r = spawnSync(process.execPath, [bundle, "--control-plane=not a url"], {
    cwd: dir,
    env,
    encoding: "utf8",
    timeout: 30_000,
  });
  expect(r.stderr).toMatch(/^berth-agent: invalid agent configuration: controlPlane/);
  expect(r.status).toBe(2);
});
