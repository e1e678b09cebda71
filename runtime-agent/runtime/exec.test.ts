import { describe, expect, it } from "vitest";
import { isRuntimeError } from "./errors.ts";
import { run } from "./exec.ts";
import { splitRule } from "../test-support/iptables-cleanup.ts";

describe("run", () => {
  it("passes arguments verbatim, never through a shell", async () => {
    const tricky = ["$(id)", "`id`", "; rm -rf /", "a b", "'q'", "*"];
    const { stdout } = await run("/usr/bin/printf", ["%s\\n", ...tricky]);
    expect(stdout.split("\n").slice(0, -1)).toEqual(tricky);
  });

  it("gives children a minimal environment", async () => {
    process.env.BERTH_TEST_SECRET = "s3cret";
    try {
      const { stdout } = await run("/usr/bin/env", [], { env: { CNI_COMMAND: "ADD" } });
      expect(stdout).toContain("CNI_COMMAND=ADD");
      expect(stdout).toContain("PATH=");
      expect(stdout).not.toContain("s3cret");
    } finally {
      delete process.env.BERTH_TEST_SECRET;
    }
  });

  it("feeds stdin, reports stderr, times out and refuses relative programs", async () => {
    expect((await run("/usr/bin/cat", [], { input: "hello" })).stdout).toBe("hello");
    const failed = await run("/bin/sh", ["-c", "echo bad >&2; exit 3"]).catch((e: unknown) => e);
    expect(isRuntimeError(failed, "failed") && failed.message).toContain("bad");
    const slow = await run("/usr/bin/sleep", ["5"], { timeoutMs: 100 }).catch((e: unknown) => e);
    expect(isRuntimeError(slow, "timeout")).toBe(true);
    const relative = await run("sh", ["-c", "true"]).catch((e: unknown) => e);
    expect(isRuntimeError(relative, "invalid")).toBe(true);
  });
});

describe("splitRule (test support)", () => {
  it("keeps quoted comments together", () => {
    expect(
      splitRule('-A POSTROUTING -m comment --comment "CNI portfwd requiring masquerade" -j CNI-HOSTPORT-MASQ'),
    ).toEqual([
      "-A",
      "POSTROUTING",
      "-m",
      "comment",
      "--comment",
      "CNI portfwd requiring masquerade",
      "-j",
      "CNI-HOSTPORT-MASQ",
    ]);
  });
});
