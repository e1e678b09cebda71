// `berth nodes` and `nodes:join-command`: hosts running the Berth agent, and how to add one.
import type { Command } from "commander";
import { formatAge, printJson, println, printTable } from "../output.ts";
import { authedClient, resolveTarget } from "../session.ts";
import { checkName } from "../names.ts";

interface NodeRow {
  id: string;
  name: string;
  address: string;
  cpus: number;
  memoryMb: number;
  state: string;
  team: string | null;
  lastSeenAt: string | null;
}

interface CreatedJoinToken {
  id: string;
  name: string;
  team: string | null;
  token: string;
}

async function list(opts: { json?: boolean }): Promise<void> {
  const { body } = await authedClient().get<NodeRow[]>("/nodes");
  if (opts.json) return printJson(body);
  printTable(
    ["NAME", "STATE", "ADDRESS", "CPUS", "MEMORY", "TEAM", "LAST SEEN"],
    body.map((n) => [
      n.name,
      n.state,
      n.address || "-",
      String(n.cpus),
      `${n.memoryMb} MB`,
      n.team ?? "(shared)",
      n.lastSeenAt ? `${formatAge(n.lastSeenAt)} ago` : "never",
    ]),
    "No nodes you can see; add one with `berth nodes:join-command`.",
  );
}

/** The shell line that starts an agent on a new host with `token` (values are quoted for a POSIX shell). */
export function joinCommand(url: string, token: string): string {
  const q = (v: string) => `'${v.replace(/'/g, "'\\''")}'`;
  return `BERTH_CONTROL_PLANE_URL=${q(url)} BERTH_JOIN_TOKEN=${q(token)} node --import tsx runtime-agent/main.ts`;
}

async function joinCmd(opts: { json?: boolean; team?: string; name?: string }): Promise<void> {
  if (opts.team !== undefined) checkName("team", opts.team);
  const name = opts.name ?? `join ${new Date().toISOString().slice(0, 16).replace("T", " ")}`;
  const { body } = await authedClient().post<CreatedJoinToken>("/nodes/join-tokens", {
    name,
    ...(opts.team ? { team: opts.team } : {}),
  });
  const command = joinCommand(resolveTarget().url, body.token);
  if (opts.json) return printJson({ ...body, command });
  println(
    `Join token "${body.name}" created${body.team ? ` for team ${body.team}` : " (shared node)"}; it is shown only now.`,
  );
  println("On the new host, as root, in a checkout of Berth after `npm ci`, run:");
  println();
  println(`  ${command}`);
}

/** Registers the nodes topic. */
export function registerNodeCommands(program: Command): void {
  program.command("nodes").description("list the nodes (hosts running the agent) you can see").action(list);
  program
    .command("nodes:join-command")
    .description("create a node join token and print the command that starts an agent with it")
    .option("-t, --team <team>", "team the node will belong to (default: a shared node; instance admins only)")
    .option("--name <name>", "name of the join token")
    .action(joinCmd);
}
