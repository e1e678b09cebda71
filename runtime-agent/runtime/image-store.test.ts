import { describe, expect, it } from "vitest";
import { isRuntimeError } from "./errors.ts";
import { findImage, layerChain } from "./image-store.ts";
import { lowerdirOption } from "./writable-layer.ts";

const hex = (c: string) => c.repeat(64);
const DIGEST = `sha256:${hex("d")}`;

describe("containers/storage index", () => {
  const images = [
    { id: hex("1"), names: ["localhost/berth-test-busybox:latest"], layer: hex("a") },
    { id: hex("2"), digest: DIGEST, names: [`127.0.0.1:5000/team/app@${DIGEST}`], layer: hex("b") },
    { id: hex("3"), digests: [DIGEST], names: ["127.0.0.1:5000/other/app:v1"], layer: hex("c") },
  ];

  it("finds an image by name, by id and by repo@digest", () => {
    expect(findImage(images, "localhost/berth-test-busybox:latest")?.id).toBe(hex("1"));
    expect(findImage(images, hex("2"))?.id).toBe(hex("2"));
    expect(findImage(images, `127.0.0.1:5000/team/app@${DIGEST}`)?.id).toBe(hex("2"));
    // Same digest, other repository's name: matched by repository, not by the digest alone.
    expect(findImage(images, `127.0.0.1:5000/other/app@${DIGEST}`)?.id).toBe(hex("3"));
    expect(findImage(images, `127.0.0.1:5000/third/app@${DIGEST}`)).toBeUndefined();
    expect(findImage(images, "busybox")).toBeUndefined();
  });

  it("walks the layer chain from the top layer to the base", () => {
    const layers = [{ id: hex("a") }, { id: hex("b"), parent: hex("a") }, { id: hex("c"), parent: hex("b") }];
    expect(layerChain(layers, hex("c"))).toEqual([hex("c"), hex("b"), hex("a")]);
    expect(layerChain(layers, hex("a"))).toEqual([hex("a")]);
  });

  it("refuses a chain with a missing layer or a loop", () => {
    expect(() => layerChain([{ id: hex("b"), parent: hex("a") }], hex("b"))).toThrow(/missing/);
    const loop = [
      { id: hex("a"), parent: hex("b") },
      { id: hex("b"), parent: hex("a") },
    ];
    expect(() => layerChain(loop, hex("a"))).toThrow(/does not end/);
  });
});

describe("overlay lowerdir option", () => {
  it("lists the layers topmost first, separated by colons", () => {
    expect(lowerdirOption(["/s/overlay/l/TOP", "/s/overlay/l/BASE"])).toBe(
      "lowerdir=/s/overlay/l/TOP:/s/overlay/l/BASE",
    );
  });

  it.each([[[]], [["/a,upperdir=/x"]], [["/a:b"]], [Array.from({ length: 200 }, () => `/${"x".repeat(30)}`)]])(
    "refuses %#",
    (lowers: string[]) => {
      let err: unknown;
      try {
        lowerdirOption(lowers);
      } catch (e) {
        err = e;
      }
      expect(isRuntimeError(err, "invalid")).toBe(true);
    },
  );
});
