// Re-validation at the sink: every id and config is checked again before it reaches a path, an argv or a spec.
import { ID_PATTERN } from "../protocol/names.ts";
import { describeIssues } from "../protocol/parse.ts";
import { ContainerConfig, type ContainerConfigInput, Signal } from "./backend.ts";
import { RuntimeError } from "./errors.ts";

/** Returns `id` if it passes the instance-id allowlist, else throws RuntimeError("invalid"). */
export function checkId(id: unknown): string {
  if (typeof id !== "string" || !ID_PATTERN.test(id)) {
    throw new RuntimeError("invalid", `invalid container id ${JSON.stringify(String(id).slice(0, 80))}`);
  }
  return id;
}

/** Parses a container config (strict: unknown fields such as `privileged` are errors). */
export function checkConfig(input: ContainerConfigInput): ContainerConfig {
  const parsed = ContainerConfig.safeParse(input);
  if (!parsed.success) throw new RuntimeError("invalid", `invalid container config: ${describeIssues(parsed.error)}`);
  return parsed.data;
}

/** Returns `signal` if it is one of the allowed signals. */
export function checkSignal(signal: unknown): Signal {
  const parsed = Signal.safeParse(signal);
  if (!parsed.success)
    throw new RuntimeError("invalid", `signal not allowed: ${JSON.stringify(String(signal).slice(0, 20))}`);
  return parsed.data;
}
