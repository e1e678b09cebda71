import fs from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { conmonArgs, type ConmonOptions, startConmon } from "./conmon.ts";

let dir: string;
let opts: ConmonOptions;

beforeEach(async () => {
  dir = await fs.mkdtemp(path.join(os.tmpdir(), "berth-conmon-test-"));
  opts = {
    conmonPath: path.join(dir, "conmon"),
    runcPath: "/usr/sbin/runc",
    runtimeArgs: ["--root", "/run/berth/runc"],
    id: "web-1",
    bundleDir: dir,
    pidFile: "/state/instances/web-1/pid",
    conmonPidFile: "/state/instances/web-1/conmon.pid",
    logPath: "/state/instances/web-1/container.log",
    logSizeMaxBytes: 1_048_576,
    exitDir: "/state/exits",
    persistDir: "/state/instances/web-1/persist",
    socketDir: "/state/sockets",
    conmonLogPath: path.join(dir, "conmon.log"),
    timeoutMs: 2_000,
  };
});

afterEach(async () => {
  await fs.rm(dir, { recursive: true, force: true });
});

async function fakeConmon(body: string) {
  await fs.writeFile(opts.conmonPath, `#!/bin/sh\n${body}\n`, { mode: 0o755 });
}

describe("conmonArgs", () => {
  it("passes runc's root, a k8s-file log with a size cap, the exit dir and the persist dir", () => {
    expect(conmonArgs({ ...opts, bundleDir: "/state/instances/web-1/bundle" })).toMatchSnapshot();
  });
});

describe("startConmon", () => {
  it("resolves with the pid conmon reports on the sync pipe", async () => {
    await fakeConmon('[ "$_OCI_SYNCPIPE" = 3 ] && printf \'{"data": 4242}\\n\' >&3');
    await expect(startConmon(opts)).resolves.toBe(4242);
  });

  it("rejects with runc's message when create failed", async () => {
    await fakeConmon('printf \'{"data": -1, "message": "exec: \\\\"nope\\\\": not found"}\' >&3');
    await expect(startConmon(opts)).rejects.toThrow(/runc create failed: exec: "nope": not found/);
  });

  it("rejects when conmon exits without reporting, and times out when it hangs", async () => {
    await fakeConmon("echo oops >&2; exit 1");
    await expect(startConmon(opts)).rejects.toThrow(/exited before reporting/);
    expect(await fs.readFile(opts.conmonLogPath, "utf8")).toContain("oops");
    await fakeConmon("exec sleep 1");
    await expect(startConmon({ ...opts, timeoutMs: 200 })).rejects.toThrow(/did not report/);
  });
});
