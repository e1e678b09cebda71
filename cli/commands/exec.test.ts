import { describe, expect, it } from "vitest";
import { execUrl, splitExecArgs } from "./exec.ts";

describe("ps:exec arguments", () => {
  it("takes an optional instance before -- and the command after it (dashes inside the command stay)", () => {
    expect(splitExecArgs([], ["ps:exec", "-a", "x"])).toEqual({ command: [] });
    expect(splitExecArgs(["web-1"], ["ps:exec", "-a", "x", "web-1"])).toEqual({ instance: "web-1", command: [] });
    expect(splitExecArgs(["ls", "-la"], ["ps:exec", "-a", "x", "--", "ls", "-la"])).toEqual({ command: ["ls", "-la"] });
    expect(splitExecArgs(["web-1", "sh", "-c", "a -- b"], ["ps:exec", "web-1", "--", "sh", "-c", "a -- b"])).toEqual({
      instance: "web-1",
      command: ["sh", "-c", "a -- b"],
    });
  });

  it("refuses two instances and a malformed one", () => {
    expect(() => splitExecArgs(["a", "b"], ["ps:exec", "a", "b"])).toThrow(/at most one instance/);
    expect(() => splitExecArgs(["../x"], ["ps:exec", "../x"])).toThrow(/invalid instance/);
  });

  it("builds the ws URL with the command as repeated cmd parameters", () => {
    const u = execUrl("https://berth.example", "shop", {
      command: ["sh", "-c", "echo $HOME & x"],
      tty: true,
      cols: 100,
      rows: 30,
    });
    expect(u.protocol).toBe("wss:");
    expect(u.pathname).toBe("/api/v1/apps/shop/exec");
    expect(u.searchParams.getAll("cmd")).toEqual(["sh", "-c", "echo $HOME & x"]);
    expect(u.searchParams.get("tty")).toBe("1");
    expect(u.searchParams.get("instance")).toBeNull();
  });
});
