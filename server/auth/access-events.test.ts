import { describe, expect, it, vi } from "vitest";
import type { Logger } from "../logger.ts";
import { AccessEvents } from "./access-events.ts";

describe("AccessEvents", () => {
  const quiet = () => {
    const error = vi.fn();
    return { log: { error } as unknown as Logger, error };
  };

  it("delivers each change with its arguments to the listeners of that change only", () => {
    const { log } = quiet();
    const events = new AccessEvents(log);
    const membership = vi.fn();
    const destroyed = vi.fn();
    events.on("membershipChanged", membership);
    events.on("appDestroyed", destroyed);
    events.emit("membershipChanged", "team-1", "user-1");
    expect(membership).toHaveBeenCalledWith("team-1", "user-1");
    expect(destroyed).not.toHaveBeenCalled();
    events.off("membershipChanged", membership);
    events.emit("membershipChanged", "team-1", "user-2");
    expect(membership).toHaveBeenCalledTimes(1);
  });

  it("never throws into the caller (the change is committed): a failing listener is logged, the others still run", () => {
    const { log, error } = quiet();
    const events = new AccessEvents(log);
    const after = vi.fn();
    events.on("tokenRevoked", () => {
      throw new Error("listener broke");
    });
    events.on("tokenRevoked", after);
    expect(() => events.emit("tokenRevoked", "tok-1")).not.toThrow();
    expect(after).toHaveBeenCalledWith("tok-1");
    expect(error).toHaveBeenCalledTimes(1);
  });
});
