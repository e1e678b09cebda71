// `berth status` (instance admin): the platform's components (database, registry, router, local agent, nodes, disk),
// each with its status, since when, restarts and a detail sentence; `--json` prints the API's answer.
import type { Command } from "commander";
import { usageError } from "../errors.ts";
import { formatAge, formatDate, printJson, println, printTable, stripTerminal } from "../output.ts";
import { authedClient } from "../session.ts";
import type { PlatformComponent as Component, PlatformStatus } from "../api-types.ts";

function lastExit(c: Component): string {
  if (!c.lastExit) return "";
  const how = c.lastExit.signal ?? `exit code ${c.lastExit.code ?? "?"}`;
  return `; last exit ${how} ${formatAge(c.lastExit.at)} ago`;
}

async function status(opts: { json?: boolean }): Promise<void> {
  const { body } = await authedClient().get<PlatformStatus>("/admin/status");
  if (opts.json) return printJson(body);
  const down = body.components.filter((c) => c.status !== "ok").map((c) => c.name);
  println(
    `Platform: ${body.status}${down.length ? ` (${down.join(", ")})` : ""}, checked ${formatDate(body.checkedAt)} UTC`,
  );
  println();
  printTable(
    ["COMPONENT", "STATUS", "SINCE", "RESTARTS", "DETAIL"],
    body.components.map((c) => [
      c.name,
      c.status,
      `${formatAge(c.since)} ago`,
      c.restarts === null ? "-" : String(c.restarts),
      // Details can quote a process's error: they must not be able to drive the terminal.
      stripTerminal(c.detail + lastExit(c)),
    ]),
    "No components.",
  );
}

/** Registers `berth status`. */
export function registerStatusCommand(program: Command): void {
  program
    .command("status")
    .description("platform health: database, registry, router, local agent, nodes, disk (instance admin)")
    .action(async (opts: { json?: boolean }, cmd: Command) => {
      if (cmd.args.length > 0) throw usageError("status takes no arguments");
      await status(opts);
    });
}
