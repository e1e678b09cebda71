// Platform stacks: builds of apps without a Dockerfile (Node.js, static sites, Procfile-only apps).
import { PlanError } from "./plan.ts";
import { StackError } from "./stacks.ts";

export { buildOnStack, readPlanInputs, type PlanInputs, type StackBuildRequest } from "./build.ts";
export {
  ensureStack,
  listStacks,
  rebuildStack,
  rebuildStacks,
  useStack,
  type StackInfo,
  type StackLease,
  type StackStatus,
} from "./stacks.ts";

/** True for failures caused by the app (its files, its install or build steps) or a missing host tool: shown, not logged. */
export function isStackUserError(err: unknown): err is Error {
  return err instanceof PlanError || err instanceof StackError;
}
