// The `berth` command line: wires the topic:command modules into commander and maps failures to exit codes.
import fs from "node:fs";
import { Command, CommanderError } from "commander";
import { registerAppCommands } from "./commands/apps.ts";
import { registerAuthCommands } from "./commands/auth.ts";
import { registerBuildCommands } from "./commands/builds.ts";
import { registerConfigCommands } from "./commands/config.ts";
import { registerNodeCommands } from "./commands/nodes.ts";
import { registerLogCommands } from "./commands/logs.ts";
import { registerDomainCommands } from "./commands/domains.ts";
import { registerVolumeCommands } from "./commands/volumes.ts";
import { registerAddonCommands } from "./commands/addons.ts";
import { registerAddonBackupCommands } from "./commands/addon-backups.ts";
import { registerVolumeBackupCommands } from "./commands/volume-backups.ts";
import { registerDeploySettingsCommands } from "./commands/deploy-settings.ts";
import { registerPsCommands } from "./commands/ps.ts";
import { registerInstanceCommands } from "./commands/instances.ts";
import { registerRunCommand } from "./commands/run.ts";
import { registerAddonClientCommands } from "./commands/addons-client.ts";
import { registerExecCommand } from "./commands/exec.ts";
import { registerGitCommands } from "./commands/git.ts";
import { registerGitCredentialCommand } from "./commands/git-credential.ts";
import { registerReleaseCommands } from "./commands/releases.ts";
import { registerStatsCommands } from "./commands/stats.ts";
import { registerTeamCommands } from "./commands/teams.ts";
import { registerTokenCommands } from "./commands/tokens.ts";
import { registerStackCommands } from "./commands/stacks.ts";
import { registerStatusCommand } from "./commands/status.ts";
import { registerCompletionCommands } from "./commands/completion.ts";
import { registerOpenCommand } from "./commands/open.ts";
import { CliError, EXIT_FAILURE, EXIT_USAGE } from "./errors.ts";
import { PACKAGE_JSON } from "./install-paths.ts";
import { clean } from "./output.ts";

function version(): string {
  try {
    const pkg = JSON.parse(fs.readFileSync(PACKAGE_JSON, "utf8")) as { version?: string };
    return pkg.version ?? "unknown";
  } catch {
    return "unknown";
  }
}

/** Commands without --json (their output is for a shell, not for people or scripts). */
const NO_JSON: ReadonlySet<string> = new Set(["completion", "completion:list"]);

/** Builds the program with every command; settings are applied first because subcommands inherit them. */
export function buildProgram(): Command {
  const program = new Command("berth")
    .description(
      "Command line for Berth, the self-hosted container cloud.\nEnvironment: BERTH_URL, BERTH_TOKEN (see docs/cli.md).",
    )
    .version(version(), "-v, --version")
    .exitOverride()
    .configureOutput({ outputError: (msg, write) => write(`berth: ${msg.replace(/^error: /, "")}`) })
    .showHelpAfterError("(run `berth --help` or `berth COMMAND --help` for usage)");
  registerAuthCommands(program);
  registerAppCommands(program);
  registerGitCommands(program);
  registerGitCredentialCommand(program);
  registerReleaseCommands(program);
  registerBuildCommands(program);
  registerConfigCommands(program);
  registerNodeCommands(program);
  registerLogCommands(program);
  registerPsCommands(program);
  registerDeploySettingsCommands(program);
  registerInstanceCommands(program);
  registerRunCommand(program);
  registerAddonClientCommands(program);
  registerExecCommand(program);
  registerStatsCommands(program);
  registerDomainCommands(program);
  registerVolumeCommands(program);
  registerAddonCommands(program);
  registerAddonBackupCommands(program);
  registerVolumeBackupCommands(program);
  registerTeamCommands(program);
  registerTokenCommands(program);
  registerStackCommands(program);
  registerStatusCommand(program);
  registerOpenCommand(program);
  registerCompletionCommands(program);
  // Every command that prints data takes --json; the completion commands print a shell script or bare words.
  for (const cmd of program.commands) {
    if (!NO_JSON.has(cmd.name())) cmd.option("--json", "print machine-readable JSON");
  }
  return program;
}

/** Runs the CLI with `argv` and returns the exit code. */
export async function run(argv: string[]): Promise<number> {
  try {
    await buildProgram().parseAsync(argv);
    return 0;
  } catch (err) {
    // Commander already printed its message (help, version or a usage error).
    if (err instanceof CommanderError) return err.exitCode === 0 ? 0 : EXIT_USAGE;
    if (err instanceof CliError) {
      // An empty message passes a remote exit code through (`berth run`), with nothing to add.
      if (err.message) process.stderr.write(`berth: ${clean(err.message)}\n`);
      return err.exitCode;
    }
    process.stderr.write(`berth: unexpected error: ${clean(err instanceof Error ? err.message : String(err))}\n`);
    if (process.env.BERTH_DEBUG && err instanceof Error) process.stderr.write(`${err.stack ?? ""}\n`);
    return EXIT_FAILURE;
  }
}

// `berth apps | head` closes stdout early; that is not an error worth a stack trace.
process.stdout.on("error", (err: NodeJS.ErrnoException) => {
  if (err.code === "EPIPE") process.exit(0);
  throw err;
});

void run(process.argv).then((code) => {
  process.exitCode = code;
});
