// Host-port allocation for instances with a port: the lowest free port of the node's range.

/** Picks a port in [min, max] not in `used`; throws when the range is exhausted. */
export function allocateHostPort(used: ReadonlySet<number>, min: number, max: number): number {
  for (let p = min; p <= max; p++) if (!used.has(p)) return p;
  throw new Error(`no free host port in ${min}-${max}`);
}
