import { describe, expect, it } from "vitest";
import { resolveImageUser } from "./user.ts";

const passwd =
  "root:x:0:0:root:/root:/bin/sh\n# comment\nnode:x:1000:1000::/home/node:/bin/sh\nweb:x:33:33::/var/www:/bin/false\n";
const group = "root:x:0:\nnode:x:1000:\nwww-data:x:33:node\nstaff:x:50:node,web\n";

describe("resolveImageUser", () => {
  it.each([
    ["", { uid: 0, gid: 0, additionalGids: [] }],
    ["root", { uid: 0, gid: 0, additionalGids: [] }],
    ["node", { uid: 1000, gid: 1000, additionalGids: [33, 50] }],
    ["1000", { uid: 1000, gid: 1000, additionalGids: [33, 50] }],
    ["4242", { uid: 4242, gid: 0, additionalGids: [] }],
    ["node:staff", { uid: 1000, gid: 50, additionalGids: [] }],
    ["1000:33", { uid: 1000, gid: 33, additionalGids: [] }],
    ["web", { uid: 33, gid: 33, additionalGids: [50] }],
  ])("%j", (spec, expected) => {
    expect(resolveImageUser(spec, passwd, group)).toEqual(expected);
  });

  it.each(["nobody", "node:nogroup", "a:b:c", "../x", "node:../x", "99999999999"])("rejects %j", (spec) => {
    expect(() => resolveImageUser(spec, passwd, group)).toThrow();
  });
});
