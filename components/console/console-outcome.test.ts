import { describe, expect, it } from "vitest";
import { describeOutcome, parseControlFrame } from "./console-outcome";

describe("parseControlFrame", () => {
  it("reads the endpoint's control frames and ignores anything else", () => {
    expect(parseControlFrame('{"type":"started","instance":"a-web-1","session":"s1"}')).toEqual({
      type: "started",
      instance: "a-web-1",
      session: "s1",
    });
    expect(parseControlFrame('{"type":"exit","code":3}')).toEqual({ type: "exit", code: 3 });
    expect(parseControlFrame('{"type":"error","error":{"code":"forbidden","message":"no"}}')).toEqual({
      type: "error",
      error: { code: "forbidden", message: "no" },
    });
    expect(parseControlFrame("not json")).toBeNull();
    expect(parseControlFrame('{"type":"exit","code":"3"}')).toBeNull();
    expect(parseControlFrame('{"type":"other"}')).toBeNull();
  });
});

describe("describeOutcome", () => {
  it("says the exit code when the process exited", () => {
    expect(describeOutcome({ type: "exit", code: 130 }, true, 1000)).toMatchObject({
      kind: "ended",
      message: expect.stringContaining("130"),
    });
  });

  it("maps refusals from the error frame, or from the close code when no frame arrived", () => {
    const err = (code: string) => ({ type: "error" as const, error: { code, message: "server words" } });
    expect(describeOutcome(err("forbidden"), false, 4403).title).toBe("You cannot open a console");
    expect(describeOutcome(err("rate_limited"), false, 4429).title).toBe("Too many console sessions");
    expect(describeOutcome(null, false, 4409).title).toBe("The instance is not running");
    expect(describeOutcome(null, false, 4503).title).toBe("The instance's node is not connected");
    expect(describeOutcome(err("weird"), false, 4500)).toMatchObject({ kind: "refused", message: "server words" });
  });

  it("tells why a running session ended", () => {
    expect(describeOutcome({ type: "ended", reason: "you were signed out" }, true, 4401).message).toContain(
      "sign-in ended",
    );
    expect(describeOutcome({ type: "ended", reason: "you no longer have access" }, true, 4403)).toMatchObject({
      kind: "ended",
      message: "You no longer have access to this app.",
    });
    expect(describeOutcome({ type: "ended", reason: "idle for too long" }, true, 4408).message).toContain("idle");
    expect(describeOutcome({ type: "ended", reason: "the instance's node disconnected" }, true, 4410).message).toBe(
      "Ended: the instance's node disconnected.",
    );
    expect(describeOutcome(null, true, 1006).title).toBe("Connection lost");
    expect(describeOutcome(null, false, 1006)).toMatchObject({ kind: "refused", title: "Could not connect" });
  });
});
