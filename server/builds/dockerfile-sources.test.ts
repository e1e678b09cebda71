import { describe, expect, it } from "vitest";
import { expand, logicalLines, transportOf, transportSources } from "./dockerfile-sources.ts";

const STORE = "containers-storage:[overlay@/var/lib/berth/builder/apps/x/storage]localhost/berth-build/x:latest";

describe("transportOf", () => {
  it.each([
    [STORE, "containers-storage"],
    ["oci-archive:/tmp/x.tar", "oci-archive"],
    ["docker-archive:/etc/passwd", "docker-archive"],
    ["dir:/etc", "dir"],
    ["oci:/srv/layout:tag", "oci"],
    ["docker-daemon:busybox:latest", "docker-daemon"],
    ["Dir:/etc", "dir"],
  ])("%s names the %s transport", (ref, transport) => {
    expect(transportOf(ref)).toBe(transport);
  });

  it.each([
    "node:20",
    "docker.io/library/node:20",
    "localhost:5000/img",
    "10.0.0.1:5000/img:tag",
    "docker://node:20",
    "scratch",
    "",
  ])("%s is a registry reference (or a stage)", (ref) => {
    expect(transportOf(ref)).toBeNull();
  });
});

describe("expand", () => {
  const env = { A: "a", EMPTY: "" };
  it.each([
    ["$A", "a"],
    ["${A}", "a"],
    ["x${A}y", "xay"],
    ["${UNSET:-d}", "d"],
    ["${EMPTY:-d}", "d"],
    ["${A:-d}", "a"],
    ["${A:+p}", "p"],
    ["${UNSET:+p}", ""],
    ["${UNSET:-$A}", "a"],
    ["\\$A", "$A"],
  ])("%s -> %s", (v, out) => {
    expect(expand(v, env)).toBe(out);
  });
});

describe("logicalLines", () => {
  it("joins continuations, drops comments, honours the escape directive", () => {
    expect(logicalLines("FROM a \\\n  AS b\n# c\n\nRUN x")).toEqual(["FROM a    AS b", "RUN x"]);
    expect(logicalLines("# escape=`\nFROM a `\n AS b\nRUN c\\")).toEqual(["FROM a   AS b", "RUN c\\"]);
  });
});

describe("transportSources", () => {
  it("finds nothing in ordinary Dockerfiles", () => {
    const df = [
      "ARG NODE=20",
      "FROM node:${NODE}-slim AS build",
      "COPY --from=build /app /app",
      "FROM --platform=linux/amd64 docker.io/library/debian:12",
      "COPY --from=build /app /app",
      "RUN --mount=type=cache,target=/root/.npm npm ci",
      "RUN --mount=type=bind,from=build,source=/app,target=/src ls /src",
    ].join("\n");
    expect(transportSources(df, {})).toEqual([]);
    expect(transportSources("FROM scratch\nCOPY . /\n", {})).toEqual([]);
  });

  it.each([
    ["FROM", `FROM ${STORE} AS x\nFROM scratch\nCOPY --from=x /s /s\n`],
    ["lowercase from", `from ${STORE}\n`],
    ["COPY --from", `FROM scratch\nCOPY --from=${STORE} /s /s\n`],
    ["RUN --mount from=", `FROM scratch\nRUN --mount=type=bind,from=${STORE},target=/m cat /m/s\n`],
    ["ONBUILD COPY --from", `FROM scratch\nONBUILD COPY --from=${STORE} /s /s\n`],
    ["a continuation line", `FROM \\\n  ${STORE}\n`],
    ["ARG default", `ARG B=${STORE}\nFROM $B\n`],
    ["ARG in braces with a default", `FROM \${B:-${STORE}}\n`],
    ["ARG made of two ARGs", `ARG T=containers-storage\nARG P=[overlay@/x]y\nFROM \${T}:\${P}\n`],
    ["ARG pointing at an ARG", `ARG A=oci-archive:/x.tar\nARG B=$A\nFROM $B\n`],
    ["a second ARG default", `ARG B=busybox\nFROM $B\nARG B=dir:/etc\nFROM $B\n`],
  ])("finds the transport in %s", (_what, df) => {
    expect(transportSources(df, {}).length).toBeGreaterThan(0);
  });

  it("substitutes build args", () => {
    expect(transportSources("ARG BASE\nFROM $BASE\n", { BASE: "oci-archive:/srv/x.tar" })).toEqual([
      "oci-archive:/srv/x.tar",
    ]);
    expect(transportSources("ARG BASE\nFROM $BASE\n", { BASE: "node:20" })).toEqual([]);
  });
});
