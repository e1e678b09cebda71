// Interactive sign-in prompts; only on a terminal, so scripts fail fast instead of hanging on stdin.
import { CliError, usageError } from "./errors.ts";

export interface Credentials {
  email: string;
  password: string;
}

/** Uses the flags, prompting for whatever is missing when stdin is a terminal. */
export async function askCredentials(
  flags: { email?: string; password?: string },
  defaultEmail?: string,
): Promise<Credentials> {
  if (flags.email && flags.password) return { email: flags.email, password: flags.password };
  if (!process.stdin.isTTY) throw usageError("--email and --password are required when stdin is not a terminal");
  // Prompts go to stderr so that `berth login --json` keeps stdout parseable.
  const ctx = { output: process.stderr };
  // Loaded only when prompting: it is the CLI's heaviest dependency and most calls never need it.
  const { input, password } = await import("./prompt-ui.ts");
  try {
    const email = flags.email ?? (await input({ message: "Email", default: defaultEmail, required: true }, ctx));
    const pw = flags.password ?? (await password({ message: "Password", mask: "*" }, ctx));
    return { email: email.trim(), password: pw };
  } catch (err) {
    if ((err as Error).name === "ExitPromptError") throw new CliError("login cancelled");
    throw err;
  }
}
