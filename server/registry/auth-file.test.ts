import fs from "node:fs";
import { describe, expect, it } from "vitest";
import { authFileText, withAuthFile } from "./auth-file.ts";

const login = { host: "127.0.0.1:5000", username: "berth", password: "s3cret-pass" };

describe("authFileText", () => {
  it("is a containers auth.json with base64 user:password per host", () => {
    const json = JSON.parse(authFileText([login])) as { auths: Record<string, { auth: string }> };
    expect(Object.keys(json.auths)).toEqual(["127.0.0.1:5000"]);
    expect(Buffer.from(json.auths["127.0.0.1:5000"]!.auth, "base64").toString()).toBe("berth:s3cret-pass");
  });

  it("holds no credentials without logins", () => {
    expect(JSON.parse(authFileText([]))).toEqual({ auths: {} });
  });
});

describe("withAuthFile", () => {
  it("gives a 0600 file in a 0700 directory, removed afterwards", async () => {
    let seen = "";
    const result = await withAuthFile([login], async (file) => {
      seen = file;
      expect(fs.statSync(file).mode & 0o777).toBe(0o600);
      expect(fs.statSync(file.replace(/\/auth\.json$/, "")).mode & 0o777).toBe(0o700);
      expect(fs.readFileSync(file, "utf8")).toBe(authFileText([login]));
      return 42;
    });
    expect(result).toBe(42);
    expect(fs.existsSync(seen)).toBe(false);
  });

  it("removes the file when the command fails", async () => {
    let seen = "";
    await expect(
      withAuthFile([login], async (file) => {
        seen = file;
        throw new Error("push failed");
      }),
    ).rejects.toThrow("push failed");
    expect(seen).not.toBe("");
    expect(fs.existsSync(seen)).toBe(false);
  });
});
