import { describe, expect, it } from "vitest";
import type { Db } from "../db/client.ts";
import type { StreamPublisher } from "../service-types.ts";
import { BuildOutput } from "./output.ts";

describe("BuildOutput", () => {
  it("stores only the last maxStored characters while the pusher gets every line", async () => {
    const saved: string[] = [];
    const db = {
      build: { update: async (q: { data: { output: string } }) => saved.push(q.data.output) },
    } as unknown as Db;
    const hub = { publish: () => undefined } as unknown as StreamPublisher;
    const pushed: string[] = [];
    const out = new BuildOutput(db, hub, "app", "build", (t) => pushed.push(t), 32);
    for (let i = 0; i < 20; i++) out.line(`line ${String(i).padStart(2, "0")}`);
    await out.flush();
    expect(pushed).toHaveLength(20);
    expect(saved.at(-1)!.length).toBeLessThanOrEqual(32);
    expect(saved.at(-1)!.endsWith("line 19\n")).toBe(true);
  });
});
