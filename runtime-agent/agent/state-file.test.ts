import fs from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { emptyState, loadState, saveState } from "./state-file.ts";

let dir: string;
beforeEach(async () => {
  dir = await fs.mkdtemp(path.join(os.tmpdir(), "berth-state-"));
});
afterEach(async () => {
  await fs.rm(dir, { recursive: true, force: true });
});

describe("state file", () => {
  it("is empty when missing and round-trips what was saved", async () => {
    const file = path.join(dir, "sub", "agent-state.json");
    expect(await loadState(file)).toEqual(emptyState());
    const state = {
      ...emptyState(),
      nodeId: "n1",
      instances: [
        {
          id: "a",
          app: "shop",
          release: "v1",
          processType: "web",
          specHash: "{}",
          state: "running" as const,
          restarts: 2,
          backoffStep: 1,
          terminal: false,
          pid: 42,
        },
      ],
    };
    await saveState(file, state);
    expect(await loadState(file)).toEqual(state);
    expect((await fs.readdir(path.dirname(file))).filter((f) => f.endsWith(".tmp"))).toEqual([]);
    expect((await fs.stat(file)).mode & 0o777).toBe(0o600);
  });
  it("loads an older protocol's desired state as none to run but nothing to stop (legacyDesired)", async () => {
    const file = path.join(dir, "agent-state.json");
    const v1spec = {
      id: "a",
      app: "shop",
      release: "v1",
      processType: "web",
      image: "localhost/shop:v1",
      limits: { memoryBytes: 64 * 1024 * 1024, cpuMillis: 100 },
    };
    await fs.writeFile(
      file,
      JSON.stringify({ version: 1, desired: { generation: 7, instances: [v1spec] }, instances: [] }),
    );
    expect(await loadState(file)).toEqual({
      version: 1,
      desired: { generation: 7, instances: [] },
      instances: [],
      legacyDesired: true,
    });
  });
  it("rejects a corrupt file instead of starting from nothing", async () => {
    const file = path.join(dir, "agent-state.json");
    await fs.writeFile(file, JSON.stringify({ version: 1, desired: { generation: -1, instances: [] }, instances: [] }));
    await expect(loadState(file)).rejects.toThrow(/corrupt/);
  });
});
