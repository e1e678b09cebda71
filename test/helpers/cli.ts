// Runs the real `berth` binary against a test server with its own config dir; never throws on non-zero exit.
import { execFile } from "node:child_process";
import path from "node:path";
import { fileURLToPath } from "node:url";

const ROOT = fileURLToPath(new URL("../..", import.meta.url));
const BIN = path.join(ROOT, "bin/berth.mjs");

export interface CliRun {
  code: number;
  stdout: string;
  stderr: string;
}

/** `berth args...` with BERTH_URL/BERTH_TOKEN set and config kept under `home`; `extra` adds or overrides variables. */
export function runBerth(
  args: string[],
  env: { url: string; token?: string; home: string; cwd?: string; extra?: Record<string, string>; stdin?: string },
): Promise<CliRun> {
  const childEnv: NodeJS.ProcessEnv = {
    ...process.env,
    ...env.extra,
    BERTH_URL: env.url,
    ...(env.token ? { BERTH_TOKEN: env.token } : {}),
    XDG_CONFIG_HOME: path.join(env.home, "config"),
    GIT_CEILING_DIRECTORIES: env.home,
    GIT_CONFIG_NOSYSTEM: "1",
    HOME: env.home,
  };
  // An ambient BERTH_TOKEN must not stand in for "not logged in".
  if (!env.token) delete childEnv.BERTH_TOKEN;
  return new Promise((resolve) => {
    const child = execFile(
      process.execPath,
      [BIN, ...args],
      { cwd: env.cwd ?? ROOT, env: childEnv, timeout: 60_000 },
      (err, stdout, stderr) => {
        resolve({ code: err ? (typeof err.code === "number" ? err.code : -1) : 0, stdout, stderr });
      },
    );
    // Piped input (`echo ... | berth ...`); without it stdin is closed, as under a CI runner.
    child.stdin?.end(env.stdin ?? "");
  });
}
