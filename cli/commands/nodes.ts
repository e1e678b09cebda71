// `berth nodes` and `nodes:join-command`: hosts running the Berth agent, and how to add one.
import type { Command } from "commander";
import { formatAge, printJson, println, printTable } from "../output.ts";
import { authedClient, resolveTarget } from "../session.ts";
import { checkName } from "../names.ts";
import { usageError } from "../errors.ts";

interface NodeRow {
  id: string;
  name: string;
  address: string;
  cpus: number;
  memoryMb: number;
  state: string;
  cordoned?: boolean;
  userNamespaces?: boolean | null;
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
    ["NAME", "STATE", "ADDRESS", "CPUS", "MEMORY", "USERNS", "TEAM", "LAST SEEN"],
    body.map((n) => [
      n.name,
      n.cordoned ? `${n.state} (cordoned)` : n.state,
      n.address || "-",
      String(n.cpus),
      `${n.memoryMb} MB`,
      // Whether container root is an unprivileged host id there; off only where the kernel cannot.
      n.userNamespaces === true ? "on" : n.userNamespaces === false ? "off" : "-",
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

/** Cordons, uncordons or drains the node called `name` (or with that id). */
async function nodeAction(action: "cordon" | "uncordon" | "drain", name: string, opts: { json?: boolean }) {
  if (!/^[a-z0-9][a-z0-9-]{0,62}$/.test(name)) throw usageError(`invalid node name ${JSON.stringify(name)}`);
  const client = authedClient();
  const { body: nodes } = await client.get<NodeRow[]>("/nodes");
  const node = nodes.find((n) => n.name === name || n.id === name);
  if (!node) throw new Error(`no node ${JSON.stringify(name)} that you can see`);
  const { body } = await client.post<{ name: string; cordoned: boolean; moving?: number }>(
    `/nodes/${encodeURIComponent(node.id)}/${action}`,
  );
  if (opts.json) return printJson(body);
  if (action === "drain") println(`Draining ${body.name}: ${body.moving ?? 0} instance(s) move to other nodes`);
  else println(`${body.name} is ${body.cordoned ? "cordoned: no new instances are placed on it" : "schedulable again"}`);
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
  for (const [action, text] of [
    ["cordon", "place no new instances on a node"],
    ["uncordon", "place instances on a node again"],
    ["drain", "cordon a node and move its instances to other nodes, each once its replacement is healthy"],
  ] as const) {
    program
      .command(`nodes:${action}`)
      .description(text)
      .argument("<node>", "node name")
      .action((name: string, opts: { json?: boolean }) => nodeAction(action, name, opts));
  }
}
