import { Command } from "commander";
import { describe, expect, it } from "vitest";
import { registerRunCommand, runMode, runTimeout, runType, runUrl } from "./run.ts";

describe("berth run arguments", () => {
  it("is interactive only on a terminal, pipes otherwise or with --no-tty, and --json keeps the event stream", () => {
    expect(runMode({}, true)).toBe("tty");
    expect(runMode({ tty: true }, true)).toBe("tty");
    expect(runMode({}, false)).toBe("pipe");
    expect(runMode({ tty: false }, true)).toBe("pipe");
    expect(runMode({ json: true }, true)).toBe("json");
    expect(runMode({ json: true, tty: false }, false)).toBe("json");
  });

  it("takes --timeout as whole seconds from 1 to 86400 (default 3600)", () => {
    expect(runTimeout(undefined)).toBe(3600);
    expect(runTimeout("1")).toBe(1);
    expect(runTimeout("86400")).toBe(86_400);
    for (const bad of ["0", "86401", "1.5", "-3", "1e3", "", "ten"])
      expect(() => runTimeout(bad), bad).toThrow(/whole seconds/);
  });

  it("takes --type as a process type name", () => {
    expect(runType(undefined)).toBeUndefined();
    expect(runType("worker")).toBe("worker");
    expect(runType("web_2")).toBe("web_2");
    for (const bad of ["Web", "1web", "", "a b", "../x", "x".repeat(31)])
      expect(() => runType(bad), bad).toThrow(/invalid process type/);
  });

  it("builds the run socket URL: one cmd per word (shell characters kept), size, timeout, tty", () => {
    const u = runUrl("https://berth.example", "shop", {
      command: ["echo", "$PORT", "|", "wc", "-c"],
      tty: false,
      cols: 100,
      rows: 30,
      timeoutSeconds: 60,
    });
    expect(u.protocol).toBe("wss:");
    expect(u.pathname).toBe("/api/v1/apps/shop/run");
    expect(u.searchParams.getAll("cmd")).toEqual(["echo", "$PORT", "|", "wc", "-c"]);
    expect(Object.fromEntries([...u.searchParams].filter(([k]) => k !== "cmd"))).toEqual({
      tty: "0",
      cols: "100",
      rows: "30",
      timeout: "60",
    });
    expect(
      runUrl("http://x", "a", {
        command: ["sh"],
        tty: true,
        cols: 1,
        rows: 1,
        timeoutSeconds: 1,
        type: "worker",
      }).searchParams.get("type"),
    ).toBe("worker");
    expect(
      runUrl("http://127.0.0.1:3000", "a", { command: ["sh"], tty: true, cols: 1, rows: 1, timeoutSeconds: 1 })
        .protocol,
    ).toBe("ws:");
  });

  it("parses the command after -- (its dashes and options included), -a, --no-tty and --timeout", async () => {
    const program = new Command().exitOverride();
    registerRunCommand(program);
    const run = program.commands.find((c) => c.name() === "run")!;
    let seen: { words: string[]; opts: Record<string, unknown> } | undefined;
    run.action((words: string[], opts: Record<string, unknown>) => {
      seen = { words, opts };
    });
    await program.parseAsync(
      ["run", "-a", "shop", "--no-tty", "--timeout", "5", "--type", "worker", "--", "sh", "-c", "ls -la -- x"],
      { from: "user" },
    );
    expect(seen).toEqual({
      words: ["sh", "-c", "ls -la -- x"],
      opts: { app: "shop", tty: false, timeout: "5", type: "worker" },
    });
    await program.parseAsync(["run", "-a", "shop", "--", "bash"], { from: "user" });
    expect(seen).toEqual({ words: ["bash"], opts: { app: "shop", tty: true } });
  });
});
