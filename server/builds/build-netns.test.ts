import { describe, expect, it } from "vitest";
import { buildNetworkFor } from "./build-network.ts";
import { inNamespace, namespacePrefix } from "./build-netns.ts";

describe("build namespaces", () => {
  it("run a command with nsenter in the namespace's network only (argv, the command after --)", () => {
    expect(inNamespace("/var/run/netns/bbabc123-0011aabb", "buildah", ["--root", "/x", "bud", "--", "/ctx"])).toEqual([
      "nsenter",
      ["--net=/var/run/netns/bbabc123-0011aabb", "--", "buildah", "--root", "/x", "bud", "--", "/ctx"],
    ]);
  });

  it("are named after the build network's data dir tag, so sweeps touch only their own", () => {
    const a = buildNetworkFor("/a/builder");
    const b = buildNetworkFor("/b/builder");
    expect(namespacePrefix(a)).toBe(`bb${a.tag}-`);
    expect(namespacePrefix(a)).not.toBe(namespacePrefix(b));
  });
});
