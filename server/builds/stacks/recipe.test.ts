import { describe, expect, it } from "vitest";
import { debianMirrorFromSources, NODE_STACK, recipeHash, stackImageName, staticStack } from "./recipe.ts";
import { satisfies } from "./semver.ts";
import { isStaticElf, nodeVersionFromDpkgStatus } from "./stacks.ts";

describe("recipeHash", () => {
  it("is stable, short and independent of package order", () => {
    const h = recipeHash(NODE_STACK);
    expect(h).toMatch(/^[0-9a-f]{16}$/);
    if (NODE_STACK.type !== "debian") throw new Error("node stack is Debian");
    expect(recipeHash({ ...NODE_STACK, packages: [...NODE_STACK.packages].reverse() })).toBe(h);
    expect(stackImageName(NODE_STACK)).toBe(`berth-stack/node:${h}`);
  });
  it("changes with the package list, the suite, the script version and busybox itself", () => {
    const h = recipeHash(NODE_STACK);
    if (NODE_STACK.type !== "debian") throw new Error("node stack is Debian");
    expect(recipeHash({ ...NODE_STACK, packages: [...NODE_STACK.packages, "git"] })).not.toBe(h);
    expect(recipeHash({ ...NODE_STACK, suite: "trixie" })).not.toBe(h);
    expect(recipeHash(NODE_STACK, 999)).not.toBe(h);
    expect(recipeHash(staticStack("a".repeat(64)))).not.toBe(recipeHash(staticStack("b".repeat(64))));
  });
});

describe("debianMirrorFromSources", () => {
  const deb822 = `Types: deb
# http://snapshot.debian.org/archive/debian/20250520T000000Z
URIs: http://deb.debian.org/debian
Suites: bookworm bookworm-updates
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg

Types: deb
URIs: http://deb.debian.org/debian-security
Suites: bookworm-security
Components: main
`;
  it("finds the main archive in deb822 .sources files, skipping security and third-party suites", () => {
    expect(debianMirrorFromSources([["debian.sources", deb822]])).toBe("http://deb.debian.org/debian");
    const nodesource = "Types: deb\nURIs: https://deb.nodesource.com/node_20.x\nSuites: nodistro\nComponents: main\n";
    expect(
      debianMirrorFromSources([
        ["nodesource.sources", nodesource],
        ["debian.sources", deb822],
      ]),
    ).toBe("http://deb.debian.org/debian");
    expect(
      debianMirrorFromSources([["debian.sources", deb822.replace("Types: deb\n#", "Types: deb\nEnabled: no\n#")]]),
    ).toBeNull();
  });
  it("reads one-line sources.list entries, with options, and ignores other files", () => {
    const list =
      "# comment\ndeb-src http://x/debian bookworm main\ndeb [arch=amd64 signed-by=/k.gpg] http://mirror.example/debian/ bookworm main\n";
    expect(debianMirrorFromSources([["sources.list", list]])).toBe("http://mirror.example/debian/");
    expect(debianMirrorFromSources([["google.list.disabled", "deb http://a/debian bookworm main"]])).toBeNull();
    expect(
      debianMirrorFromSources([["cloud.list", "deb https://packages.cloud.google.com/apt cloud-sdk-bookworm main"]]),
    ).toBeNull();
  });
});

describe("satisfies", () => {
  it("handles the range forms package.json files use", () => {
    const yes: [string, string][] = [
      ["18.20.4", ">=18.0.0"],
      ["18.20.4", "^18"],
      ["18.20.4", "18.20.x"],
      ["18.20.4", "<=18"],
      ["18.20.4", ">17"],
      ["18.20.4", "=18.20.4"],
      ["18.20.4", "v18.20.4"],
      ["18.20.4", "x"],
      ["0.2.5", "^0.2.3"],
    ];
    const no: [string, string][] = [
      ["18.20.4", ">=18.20.5"],
      ["18.20.4", "<18"],
      ["18.20.4", ">18"],
      ["18.20.4", "^20 || ^22"],
      ["0.3.0", "^0.2.3"],
    ];
    for (const [v, r] of yes) expect(satisfies(v, r), `${v} ${r}`).toBe(true);
    for (const [v, r] of no) expect(satisfies(v, r), `${v} ${r}`).toBe(false);
    expect(satisfies("18.20.4", "lts/*")).toBeNull();
  });
});

describe("stack helpers", () => {
  it("reads Debian's nodejs version from dpkg status", () => {
    const status =
      "Package: libnode108\nStatus: install ok installed\nVersion: 18.20.4+dfsg-1~deb12u2\n\nPackage: nodejs\nStatus: install ok installed\nVersion: 18.20.4+dfsg-1~deb12u2\n";
    expect(nodeVersionFromDpkgStatus(status)).toBe("18.20.4");
    expect(
      nodeVersionFromDpkgStatus("Package: nodejs\nStatus: deinstall ok config-files\nVersion: 1.2.3\n"),
    ).toBeNull();
  });
  it("tells static from dynamic ELF binaries", () => {
    const elf = (interp: boolean) => {
      const b = Buffer.alloc(64 + 56 * 2);
      b.writeUInt32BE(0x7f454c46, 0);
      b[4] = 2;
      b[5] = 1;
      b.writeBigUInt64LE(64n, 32);
      b.writeUInt16LE(56, 54);
      b.writeUInt16LE(2, 56);
      b.writeUInt32LE(1, 64);
      b.writeUInt32LE(interp ? 3 : 1, 64 + 56);
      return b;
    };
    expect(isStaticElf(elf(false))).toBe(true);
    expect(isStaticElf(elf(true))).toBe(false);
    expect(isStaticElf(Buffer.from("#!/bin/sh\n"))).toBe(false);
  });
});
