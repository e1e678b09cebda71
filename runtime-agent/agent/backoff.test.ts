import { describe, expect, it } from "vitest";
import {
  nextRestartStep,
  reconnectDelayMs,
  RESTART_CAP_MS,
  RESTART_RESET_AFTER_MS,
  restartDelayMs,
} from "./backoff.ts";

describe("restartDelayMs", () => {
  it("restarts at once first, then doubles from 1 s up to the 5-minute cap", () => {
    expect([0, 1, 2, 3, 4, 5].map(restartDelayMs)).toEqual([0, 1000, 2000, 4000, 8000, 16000]);
    expect(restartDelayMs(9)).toBe(256_000);
    expect(restartDelayMs(10)).toBe(RESTART_CAP_MS);
    expect(restartDelayMs(10_000)).toBe(RESTART_CAP_MS);
  });
  it("resets the step after 10 minutes healthy, not before", () => {
    expect(nextRestartStep(6, RESTART_RESET_AFTER_MS - 1)).toBe(6);
    expect(nextRestartStep(6, RESTART_RESET_AFTER_MS)).toBe(0);
  });
});

describe("reconnectDelayMs", () => {
  it("grows exponentially with jitter between half and all of the ceiling, capped", () => {
    expect(reconnectDelayMs(0, 0)).toBe(250);
    expect(reconnectDelayMs(0, 1)).toBe(500);
    expect(reconnectDelayMs(3, 0.5)).toBe(3000);
    expect(reconnectDelayMs(50, 0.999)).toBeLessThanOrEqual(30_000);
    expect(reconnectDelayMs(50, 0)).toBe(15_000);
  });
});
