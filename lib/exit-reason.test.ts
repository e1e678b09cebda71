import { describe, expect, it } from "vitest";
import { exitReasonLabel } from "./exit-reason.ts";

describe("exitReasonLabel", () => {
  it("labels the agent's reasons and passes others through", () => {
    expect(exitReasonLabel("oom-killed")).toBe("OOM killed");
    expect(exitReasonLabel("health-check-failed")).toBe("health check failed");
    expect(exitReasonLabel("exited")).toBe("exited");
  });
});
