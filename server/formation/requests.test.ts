import { describe, expect, it } from "vitest";
import { DEFAULT_CPU_REQUEST, effectiveRequests, requestProblem } from "./requests.ts";

describe("effectiveRequests", () => {
  const cases: {
    name: string;
    in: Parameters<typeof effectiveRequests>[0];
    want: { memoryMb: number; cpu: number };
  }[] = [
    { name: "defaults: memory = limit, cpu = 0.1", in: { memoryMb: 512, cpu: 1 }, want: { memoryMb: 512, cpu: 0.1 } },
    {
      name: "null is the default",
      in: { memoryMb: 256, cpu: 2, memoryRequestMb: null, cpuRequest: null },
      want: { memoryMb: 256, cpu: 0.1 },
    },
    {
      name: "a CPU limit below 0.1 caps the default",
      in: { memoryMb: 64, cpu: 0.05 },
      want: { memoryMb: 64, cpu: 0.05 },
    },
    {
      name: "explicit requests win",
      in: { memoryMb: 512, cpu: 1, memoryRequestMb: 128, cpuRequest: 0.25 },
      want: { memoryMb: 128, cpu: 0.25 },
    },
    {
      name: "a CPU request of 0 stays 0",
      in: { memoryMb: 512, cpu: 1, cpuRequest: 0 },
      want: { memoryMb: 512, cpu: 0 },
    },
  ];
  for (const c of cases) it(c.name, () => expect(effectiveRequests(c.in)).toEqual(c.want));
  it("the default CPU request is small", () => expect(DEFAULT_CPU_REQUEST).toBe(0.1));
});

describe("requestProblem", () => {
  it("accepts requests up to the limits", () => {
    expect(requestProblem("web", { memoryMb: 512, cpu: 1, memoryRequestMb: 512, cpuRequest: 1 })).toBeNull();
    expect(requestProblem("web", { memoryMb: 512, cpu: 0.05 })).toBeNull();
  });
  it("refuses a request above its limit", () => {
    expect(requestProblem("web", { memoryMb: 256, cpu: 1, memoryRequestMb: 512 })).toMatch(
      /web: memory request 512 MB is above the memory limit 256 MB/,
    );
    expect(requestProblem("worker", { memoryMb: 256, cpu: 0.5, cpuRequest: 0.75 })).toMatch(
      /worker: cpu request 0.75 is above the cpu limit 0.5/,
    );
  });
});
