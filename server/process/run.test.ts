// The server's one tool runner, against real processes (sh, head, printf): exit codes, stderr in errors, time
// limits with SIGTERM -> SIGKILL, output caps, streaming lines.
import { describe, expect, it } from "vitest";
import { OutputLimitError, runStreaming, runTool, runToolBuffer, TimeLimitError, ToolError } from "./run.ts";

describe("runTool", () => {
  it("returns stdout and passes argv untouched (no shell)", async () => {
    expect(await runTool("printf", ["%s|", "a b", "$HOME", ";ls"])).toBe("a b|$HOME|;ls|");
  });

  it("rejects a non-zero exit with the tool's name, code, stderr tail and stdout tail", async () => {
    const err = await runTool("sh", ["-c", "echo out; echo broken thing >&2; exit 3"], { name: "mytool" }).catch(
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(ToolError);
    const e = err as ToolError;
    expect(e.tool).toBe("mytool");
    expect(e.code).toBe(3);
    expect(e.stderr).toBe("broken thing");
    expect(e.stdout).toBe("out\n");
    expect(e.message).toBe("mytool exited with code 3: broken thing");
  });

  it("writes `input` to stdin and closes it; without it stdin is empty", async () => {
    expect(await runTool("cat", [], { input: '{"a":1}' })).toBe('{"a":1}');
    expect(await runTool("cat", [])).toBe("");
    // A tool that exits without reading its input is judged by its exit code only.
    expect(await runTool("true", [], { input: Buffer.alloc(1024 * 1024) })).toBe("");
  });

  it("rejects a command that cannot start", async () => {
    const err = await runTool("/nonexistent/berth-tool", []).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ToolError);
    expect((err as ToolError).message).toMatch(/could not start/);
  });

  it("stops a tool past its time limit, with SIGKILL when it ignores SIGTERM", async () => {
    const started = Date.now();
    const err = await runTool("sh", ["-c", "trap '' TERM; while true; do sleep 0.05; done"], {
      timeoutMs: 200,
      killGraceMs: 200,
    }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(TimeLimitError);
    expect(Date.now() - started).toBeLessThan(20_000);
  });

  it("refuses more output than the cap instead of truncating", async () => {
    const err = await runToolBuffer("head", ["-c", "100000", "/dev/zero"], { maxOutputBytes: 1000 }).catch(
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(OutputLimitError);
    expect((await runToolBuffer("head", ["-c", "1000", "/dev/zero"], { maxOutputBytes: 1000 })).length).toBe(1000);
  });
});

describe("runStreaming", () => {
  it("hands over stdout and stderr lines as they come, and keeps stderr out of the error message", async () => {
    const lines: string[] = [];
    await runStreaming("sh", ["-c", "printf 'one\\ntwo\\r\\n'; echo three >&2"], (l) => lines.push(l));
    expect(lines.sort()).toEqual(["one", "three", "two"]);
    const err = await runStreaming("sh", ["-c", "echo shown >&2; exit 2"], () => undefined).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ToolError);
    expect((err as ToolError).message).toBe("sh exited with code 2");
  });
});
