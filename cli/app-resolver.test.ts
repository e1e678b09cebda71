import { describe, expect, it } from "vitest";
import { appFromGitUrl } from "./app-resolver.ts";

describe("appFromGitUrl", () => {
  it("reads the app from Berth git URLs", () => {
    expect(appFromGitUrl("http://localhost:3000/git/shop.git")).toBe("shop");
    expect(appFromGitUrl("https://user@berth.example.com/git/my-app.git/\n")).toBe("my-app");
  });

  it("returns null for other remotes", () => {
    expect(appFromGitUrl("git@github.com:me/shop.git")).toBeNull();
    expect(appFromGitUrl("http://localhost:3000/other/shop.git")).toBeNull();
    expect(appFromGitUrl("file:///git/shop.git")).toBeNull();
  });
});
