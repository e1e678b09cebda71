// Work that needs the image registry (a git push builds and pushes an image) is refused with one clear sentence while
// the registry is restarting or down, instead of a build that fails later with a connection error.
import type { Services } from "../context.ts";

export const REGISTRY_DOWN_MESSAGE = "the image registry is not running; try again shortly";

/** REGISTRY_DOWN_MESSAGE when this control plane runs a registry that does not answer now, else null. */
export async function registryProblem(s: Services): Promise<string | null> {
  const r = await s.health.probe("registry");
  return r && r.status !== "ok" ? REGISTRY_DOWN_MESSAGE : null;
}
