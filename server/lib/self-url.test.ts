import { describe, expect, it } from "vitest";
import { selfUrl } from "./self-url.ts";

describe("selfUrl", () => {
  it.each([
    ["0.0.0.0", "http://127.0.0.1:3000"],
    ["", "http://127.0.0.1:3000"],
    ["::", "http://127.0.0.1:3000"],
    ["127.0.0.1", "http://127.0.0.1:3000"],
    ["localhost", "http://127.0.0.1:3000"],
    ["10.1.2.3", "http://10.1.2.3:3000"],
    ["fd00::5", "http://[fd00::5]:3000"],
  ])("HOST=%j is reached at %s", (host, url) => {
    expect(selfUrl({ host, port: 3000 })).toBe(url);
  });
});
