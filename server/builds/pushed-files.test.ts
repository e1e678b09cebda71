// PushedFiles against a real git repository: files come from git's objects; symlinks are refused, not followed.
import { execFileSync } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parseLsTree } from "../git/objects.ts";
import { PushedFiles, SourceError } from "./pushed-files.ts";
import { readPlanInputs } from "./stacks/build.ts";
import { PlanError } from "./stacks/plan.ts";

let dir = "";
let rev = "";
let secret = "";

const git = (args: string[]) =>
  execFileSync("git", args, {
    cwd: dir,
    env: {
      ...process.env,
      HOME: dir,
      GIT_CONFIG_NOSYSTEM: "1",
      GIT_AUTHOR_NAME: "t",
      GIT_AUTHOR_EMAIL: "t@example.com",
      GIT_COMMITTER_NAME: "t",
      GIT_COMMITTER_EMAIL: "t@example.com",
    },
  }).toString();

beforeAll(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), "berth-pushed-files-"));
  secret = path.join(dir, "host-secret");
  fs.writeFileSync(secret, '{"leaked": true}');
  const w = (f: string, text: string) => {
    fs.mkdirSync(path.dirname(path.join(dir, "w", f)), { recursive: true });
    fs.writeFileSync(path.join(dir, "w", f), text);
  };
  w("Procfile", "web: node server.js\n");
  w("Dockerfile", "FROM scratch\n");
  w("big.txt", "x".repeat(5000));
  w("config/package.json", "{}");
  w("sub/file", "x");
  fs.symlinkSync("config/package.json", path.join(dir, "w", "package.json"));
  fs.symlinkSync(path.relative(path.join(dir, "w"), secret), path.join(dir, "w", "package-lock.json"));
  fs.symlinkSync("sub", path.join(dir, "w", ".dockerignore"));
  dir = path.join(dir, "w");
  git(["init", "-q", "-b", "main"]);
  git(["add", "-A"]);
  git(["commit", "-qm", "files"]);
  rev = git(["rev-parse", "HEAD"]).trim();
});
afterAll(() => fs.rmSync(path.dirname(dir), { recursive: true, force: true }));

const load = () => PushedFiles.load(path.join(dir, ".git"), rev, {});

describe("PushedFiles", () => {
  it("lists the root of the commit with git's modes", async () => {
    const f = await load();
    expect(f.has("Procfile")).toBe(true);
    expect(f.has("package.json")).toBe(true); // a symlink is a blob: detection sees it, reading refuses it
    expect(f.has("sub")).toBe(false); // a directory is not a file
    expect(f.present("sub")).toBe(true);
    expect(f.has("nothing")).toBe(false);
  });

  it("reads regular files from the objects", async () => {
    const f = await load();
    expect(await f.readText("Procfile", 1024)).toBe("web: node server.js\n");
    expect(await f.readText("nothing", 1024)).toBeNull();
  });

  it("refuses symlinks by name, even ones that stay inside the tree, and never reads their targets", async () => {
    const f = await load();
    await expect(f.readText("package.json", 1024)).rejects.toThrow(
      /^package\.json is a symbolic link; .*commit the file, not a link to it$/,
    );
    await expect(f.readText("package-lock.json", 1024)).rejects.toBeInstanceOf(SourceError);
    expect(() => f.requireRegular(".dockerignore")).toThrow(/\.dockerignore is a symbolic link/);
    expect(() => f.requireRegular("sub")).toThrow("sub must be a regular file");
    expect(() => f.requireRegular("Dockerfile")).not.toThrow();
    expect(() => f.requireRegular("absent")).not.toThrow();
  });

  it("refuses a file over the size cap instead of truncating it", async () => {
    const f = await load();
    await expect(f.readText("big.txt", 4096)).rejects.toThrow("big.txt is larger than 4 KiB");
    expect(await f.readText("big.txt", 8192)).toHaveLength(5000);
  });

  it("makes readPlanInputs refuse a symlinked package.json before any stack work", async () => {
    const f = await load();
    await expect(readPlanInputs("node", f)).rejects.toThrow(/package\.json is a symbolic link/);
    expect(await readPlanInputs("static", f)).toEqual({ pkg: null, lock: null });
  });
});

describe("readPlanInputs", () => {
  const fake = (texts: Record<string, string>, links: string[] = []) => ({
    has: (n: string) => n in texts || links.includes(n),
    present: (n: string) => n in texts || links.includes(n),
    requireRegular: (n: string) => {
      if (links.includes(n)) throw new SourceError(`${n} is a symbolic link`);
    },
    readText: async (n: string) => {
      if (links.includes(n)) throw new SourceError(`${n} is a symbolic link`);
      return texts[n] ?? null;
    },
  });

  it("parses package.json and the lockfile", async () => {
    const inputs = await readPlanInputs(
      "node",
      fake({ "package.json": '{"name":"a"}', "package-lock.json": '{"v":1}' }),
    );
    expect(inputs).toEqual({ pkg: { name: "a" }, lock: { v: 1 } });
  });

  it("refuses a symlinked lockfile and an invalid one with clear messages", async () => {
    await expect(readPlanInputs("node", fake({ "package.json": "{}" }, ["npm-shrinkwrap.json"]))).rejects.toThrow(
      "npm-shrinkwrap.json is a symbolic link",
    );
    const bad = readPlanInputs("node", fake({ "package.json": "{}", "package-lock.json": "{" }));
    await expect(bad).rejects.toBeInstanceOf(PlanError);
    await expect(bad).rejects.toThrow("package-lock.json is not valid JSON");
  });
});

describe("parseLsTree", () => {
  it("parses modes, types, ids and names with any characters", () => {
    const oid = "a".repeat(40);
    const out = Buffer.from(
      `100644 blob ${oid}\ta b\tc\u0000120000 blob ${oid}\tlink\u0000040000 tree ${oid}\tdir\u0000`,
    );
    expect(parseLsTree(out)).toEqual([
      { mode: "100644", type: "blob", oid, name: "a b\tc" },
      { mode: "120000", type: "blob", oid, name: "link" },
      { mode: "040000", type: "tree", oid, name: "dir" },
    ]);
    expect(() => parseLsTree(Buffer.from("garbage\u0000"))).toThrow(/unexpected ls-tree line/);
  });
});
