import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { findEscapingSymlinks, resolveInside } from "./source.ts";

let root = "";
let outside = "";

/** Creates `links` (path -> target) and `files` under the tree root. */
function tree(files: string[], links: Record<string, string>): void {
  for (const f of files) {
    fs.mkdirSync(path.dirname(path.join(root, f)), { recursive: true });
    fs.writeFileSync(path.join(root, f), "x");
  }
  for (const [l, t] of Object.entries(links)) {
    fs.mkdirSync(path.dirname(path.join(root, l)), { recursive: true });
    fs.symlinkSync(t, path.join(root, l));
  }
}

beforeEach(() => {
  const base = fs.mkdtempSync(path.join(os.tmpdir(), "berth-source-test-"));
  root = path.join(base, "a", "b", "src");
  outside = path.join(base, "outside");
  fs.mkdirSync(root, { recursive: true });
  fs.mkdirSync(outside);
  fs.writeFileSync(path.join(outside, "secret"), "secret");
});
afterEach(() => fs.rmSync(path.dirname(path.dirname(path.dirname(root))), { recursive: true, force: true }));

describe("findEscapingSymlinks", () => {
  it("catches a chain through `x/up -> ..` that a textual check takes for inside", async () => {
    // Textually x/up/x/up/x/up/../../.. is three levels below the root; in fact every x/up is the root itself, so
    // the three `..` climb from the root to the directory that holds `outside`.
    const hops = 3;
    const target = `${"x/up/".repeat(hops)}${"../".repeat(3)}outside/secret`;
    expect(path.resolve(root, target).startsWith(`${root}/`)).toBe(true); // what the old check saw
    tree([], { "x/up": "..", Procfile: target });
    expect(await findEscapingSymlinks(root)).toEqual(["Procfile"]);
    expect(fs.readFileSync(path.join(root, "Procfile"), "utf8")).toBe("secret"); // the kernel does follow it out
  });

  it("refuses absolute targets, plain `..` escapes and escapes through another link", async () => {
    tree(["docs/a.txt"], {
      abs: "/etc/passwd",
      up: "../../..",
      "docs/out": "../../outside",
      viaLink: "docs/out/secret",
    });
    expect((await findEscapingSymlinks(root)).sort()).toEqual(["abs", "docs/out", "up", "viaLink"]);
  });

  it("accepts links that stay inside, through chains, and dangling ones that stay inside", async () => {
    tree(["docs/readme.txt", "lib/index.js"], {
      "x/up": "..",
      readme: "x/up/x/up/docs/readme.txt",
      "docs/again": "../x/up/docs",
      "docs/lib": "../lib",
      "lib/main.js": "./index.js",
      missing: "nowhere/file",
      "docs/missing": "../docs/../nowhere",
      self: ".",
    });
    expect(await findEscapingSymlinks(root)).toEqual([]);
  });

  it("refuses a dangling link that climbs out after a missing component, and link loops", async () => {
    tree([], { climb: "nowhere/../../x", a: "b", b: "a", climb2: "f/../.." });
    expect((await findEscapingSymlinks(root)).sort()).toEqual(["a", "b", "climb", "climb2"]);
  });

  it("resolves a link relative to its own directory", async () => {
    tree(["deep/er/file"], { "deep/er/l1": "../../deep/er/file", "deep/er/l2": "../../../x" });
    expect(await resolveInside(root, "deep/er/l1")).toBe("inside");
    expect(await resolveInside(root, "deep/er/l2")).toBe("escapes");
  });
});
