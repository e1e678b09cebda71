// Requests beside limits, as Kubernetes separates them. A limit is what the cgroup enforces on an instance (memory:
// a hard cap, OOM kill past it; CPU: a quota). A request is what placement counts on a node: a node takes instances
// while the sum of their requests fits its memory and cores. CPU limits may add up past a node's cores (CPU is
// compressible: a busy instance is throttled, never killed), so the CPU request defaults to a small share instead
// of the limit. Memory requests default to the limit, so by default memory is never overcommitted.

/** What placement counts for an instance's CPU when its process type sets no request (cores). */
export const DEFAULT_CPU_REQUEST = 0.1;

/** The stored limits and (optional) requests of a process type or instance. */
export interface LimitsAndRequests {
  memoryMb: number;
  cpu: number;
  /** Null or undefined: the default (the memory limit). */
  memoryRequestMb?: number | null | undefined;
  /** Null or undefined: the default (DEFAULT_CPU_REQUEST, or the CPU limit if smaller). */
  cpuRequest?: number | null | undefined;
}

/** What placement counts for one instance. */
export interface Requests {
  memoryMb: number;
  cpu: number;
}

/** The requests in force: the explicit ones, else the defaults for the limits. */
export function effectiveRequests(l: LimitsAndRequests): Requests {
  return {
    memoryMb: l.memoryRequestMb ?? l.memoryMb,
    cpu: l.cpuRequest ?? Math.min(DEFAULT_CPU_REQUEST, l.cpu),
  };
}

/**
 * Why these requests do not go with these limits, or null. A request above its limit could never be used (the
 * cgroup caps the instance first) and would only waste room on the node, so it is refused like Kubernetes does.
 */
export function requestProblem(type: string, l: LimitsAndRequests): string | null {
  if (l.memoryRequestMb != null && l.memoryRequestMb > l.memoryMb)
    return `${type}: memory request ${l.memoryRequestMb} MB is above the memory limit ${l.memoryMb} MB; lower the request or raise the limit`;
  if (l.cpuRequest != null && l.cpuRequest > l.cpu + 1e-9)
    return `${type}: cpu request ${l.cpuRequest} is above the cpu limit ${l.cpu}; lower the request or raise the limit`;
  return null;
}
