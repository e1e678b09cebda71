// `berth stacks` and `stacks:rebuild` (instance admin): the platform stacks apps without a Dockerfile build on.
import type { Command } from "commander";
import { CliError, usageError } from "../errors.ts";
import { formatAge, formatDate, note, printJson, println, printTable, stripTerminal } from "../output.ts";
import { authedClient } from "../session.ts";
import type { Stack, StackRebuild as Rebuild } from "../api-types.ts";

const POLL_MS = 1000;

function describeRebuild(r: Rebuild): string {
  if (r.status === "running") return `running since ${formatDate(r.startedAt)} UTC (started by ${r.startedBy})`;
  const when = `${formatDate(r.finishedAt)} UTC, started by ${r.startedBy}`;
  return r.status === "succeeded" ? `succeeded ${when}` : `failed ${when}: ${r.error ?? "unknown error"}`;
}

async function list(opts: { json?: boolean }): Promise<void> {
  const { body } = await authedClient().get<{ stacks: Stack[]; rebuild: Rebuild | null }>("/stacks");
  if (opts.json) return printJson(body);
  printTable(
    ["NAME", "IMAGE", "BUILT", "ID", "CONTENTS", "CACHED"],
    body.stacks.map((s) => [
      s.name,
      s.image ?? "-",
      s.built ? (s.builtAt ? `${formatDate(s.builtAt)} UTC (${formatAge(s.builtAt)} ago)` : "yes") : "not yet",
      s.id ? s.id.replace(/^sha256:/, "").slice(0, 12) : "-",
      s.problem ?? s.description ?? "-",
      s.cached ? "yes" : "no",
    ]),
    "No stacks.",
  );
  if (body.rebuild) {
    println();
    println(`Last rebuild: ${describeRebuild(body.rebuild)}`);
  }
}

async function rebuild(opts: { json?: boolean; wait?: boolean }): Promise<void> {
  const api = authedClient();
  let { body: r } = await api.post<Rebuild>("/stacks/rebuild");
  if (opts.wait === false) {
    if (opts.json) return printJson(r);
    println("Stack rebuild started; follow it with `berth stacks` (it takes several minutes for the Node.js stack).");
    return;
  }
  if (!opts.json) note("Rebuilding the platform stacks (the Node.js stack takes several minutes)...");
  let seen = r.outputStart;
  const show = (x: Rebuild) => {
    // Stack build output comes from debootstrap and apt: it must not be able to drive the terminal.
    const fresh = x.output.slice(Math.max(0, seen - x.outputStart));
    if (!opts.json) for (const line of fresh) println(stripTerminal(line));
    seen = x.outputStart + x.output.length;
  };
  show(r);
  while (r.status === "running") {
    await new Promise((resolve) => setTimeout(resolve, POLL_MS));
    r = (await api.get<Rebuild>(`/stacks/rebuild?since=${seen}`)).body;
    show(r);
  }
  if (opts.json) printJson(r);
  else if (r.status === "succeeded") println(`Rebuilt ${r.stacks.join(", ")}`);
  if (r.status === "failed") throw new CliError(`stack rebuild failed: ${r.error ?? "unknown error"}`);
}

/** Registers the stacks topic. */
export function registerStackCommands(program: Command): void {
  program.command("stacks").description("list the platform stacks (instance admin)").action(list);
  program
    .command("stacks:rebuild")
    .description("rebuild every platform stack from Debian's current packages (instance admin)")
    .option("--no-wait", "start the rebuild and return instead of following its output")
    .action(async (opts: { json?: boolean; wait?: boolean }, cmd: Command) => {
      if (cmd.args.length > 0) throw usageError("stacks:rebuild takes no arguments");
      await rebuild(opts);
    });
}
