import { describe, expect, it } from "vitest";
import { credentialAnswer, helperCommand, parseCredentialRequest } from "./git-credential.ts";

const pinned = { origin: "http://localhost:3000", server: "http://127.0.0.1:3000/" };
const target = { url: "http://127.0.0.1:3000", token: "bt_secret" };

describe("git credential helper", () => {
  it("answers with the token only for the pinned origin while the CLI targets the pinned server", () => {
    const ask = (text: string, t: { url: string; token: string | null } = target) =>
      credentialAnswer(parseCredentialRequest(text), pinned, t);
    expect(ask("protocol=http\nhost=localhost:3000\npath=git/shop.git\n\n")).toBe(
      "username=berth\npassword=bt_secret\n",
    );
    expect(ask("protocol=http\nhost=LOCALHOST:3000\n")).toContain("password=bt_secret");
    expect(ask("protocol=https\nhost=localhost:3000\n")).toBe("");
    expect(ask("protocol=http\nhost=localhost:3001\n")).toBe("");
    expect(ask("protocol=http\nhost=evil.example\n")).toBe("");
    expect(ask("protocol=http\n")).toBe("");
    expect(ask("protocol=http\nhost=localhost:3000\n", { url: "http://other:3000", token: "bt_x" })).toBe("");
    expect(ask("protocol=http\nhost=localhost:3000\n", { url: target.url, token: null })).toBe("");
  });

  it("stops reading at the blank line that ends the request", () => {
    expect(parseCredentialRequest("protocol=http\nhost=a\n\nhost=b\n")).toEqual({ protocol: "http", host: "a" });
  });

  it("quotes every word of the helper for git's shell", () => {
    const cmd = helperCommand("http://x:1", "http://y'; rm -rf /'");
    expect(cmd.startsWith("!'")).toBe(true);
    expect(cmd).toContain(`'http://y'\\''; rm -rf /'\\'''`);
  });
});
