// `berth nodes` and `nodes:join-command`: hosts running the Berth agent, and how to add one; `nodes:remove` and
// `nodes:address` for the node admin and the instance admin.
import type { Command } from "commander";
import { formatAge, printJson, println, printTable } from "../output.ts";
import { authedClient, resolveTarget } from "../session.ts";
import { checkName } from "../names.ts";
import { usageError } from "../errors.ts";
import type { CreatedJoinToken, Node as NodeRow } from "../api-types.ts";

async function list(opts: { json?: boolean }): Promise<void> {
  const { body } = await authedClient().get<NodeRow[]>("/nodes");
  if (opts.json) return printJson(body);
  printTable(
    ["NAME", "STATE", "ADDRESS", "CPUS", "MEMORY", "USERNS", "TEAM", "LAST SEEN"],
    body.map((n) => [
      n.name,
      n.cordoned ? `${n.state} (cordoned)` : n.state,
      // An unroutable node gets no instances and no traffic: say why where the address is.
      n.unroutable ? `${n.address || "-"} (unroutable: ${n.unroutable})` : n.address || "-",
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

/** The node called `name` (or with that id) among those the caller may see. */
async function findNode(name: string): Promise<NodeRow> {
  if (!/^[a-z0-9][a-z0-9-]{0,62}$/.test(name)) throw usageError(`invalid node name ${JSON.stringify(name)}`);
  const { body: nodes } = await authedClient().get<NodeRow[]>("/nodes");
  const node = nodes.find((n) => n.name === name || n.id === name);
  if (!node) throw new Error(`no node ${JSON.stringify(name)} that you can see`);
  return node;
}

/** Cordons, uncordons or drains the node called `name` (or with that id). */
async function nodeAction(action: "cordon" | "uncordon" | "drain", name: string, opts: { json?: boolean }) {
  const node = await findNode(name);
  const client = authedClient();
  const { body } = await client.post<{ name: string; cordoned: boolean; moving?: number }>(
    `/nodes/${encodeURIComponent(node.id)}/${action}`,
  );
  if (opts.json) return printJson(body);
  if (action === "drain") println(`Draining ${body.name}: ${body.moving ?? 0} instance(s) move to other nodes`);
  else
    println(`${body.name} is ${body.cordoned ? "cordoned: no new instances are placed on it" : "schedulable again"}`);
}

/** Removes a node after the user typed its name again (its instances move elsewhere; its agent is disconnected). */
async function removeCmd(name: string, opts: { json?: boolean; confirm?: string }): Promise<void> {
  // Like apps:destroy: the name typed twice, so a slip of the finger cannot take a host out of service.
  if (opts.confirm !== name) {
    throw usageError(
      `refusing to remove node ${name}: its instances are started elsewhere and its agent is disconnected; pass --confirm ${name} to proceed`,
    );
  }
  const node = await findNode(name);
  const { body } = await authedClient().delete<{ name: string; instances: number; disconnected: boolean }>(
    `/nodes/${encodeURIComponent(node.id)}`,
  );
  if (opts.json) return printJson(body);
  println(
    `Removed node ${body.name}: ${body.instances} instance(s) are started on other nodes${body.disconnected ? "; its agent was disconnected" : ""}.`,
  );
  println("Its agent joins again if it reconnects with a valid join token: revoke the token to keep it out.");
}

/** Sets or clears the address the router uses for a node (instance admin). */
async function addressCmd(name: string, address: string | undefined, opts: { json?: boolean; clear?: boolean }) {
  if (opts.clear ? address !== undefined : address === undefined) {
    throw usageError("give either an address or --clear");
  }
  const node = await findNode(name);
  const { body } = await authedClient().put<NodeRow>(`/nodes/${encodeURIComponent(node.id)}/address`, {
    address: opts.clear ? null : address,
  });
  if (opts.json) return printJson(body);
  if (body.unroutable) println(`${body.name}: address ${body.address || "-"} is not routed: ${body.unroutable}`);
  else
    println(`${body.name} is routed at ${body.address}${opts.clear ? " (the address its agent connects from)" : ""}`);
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
  program
    .command("nodes:remove")
    .description("remove a node: its agent is disconnected and its instances are started on other nodes")
    .argument("<node>", "node name")
    .option("--confirm <node>", "the node name again, to confirm")
    .action(removeCmd);
  program
    .command("nodes:address")
    .description("set the address the router uses for a node, e.g. behind NAT (instance admin)")
    .argument("<node>", "node name")
    .argument("[address]", "IPv4 address the router reaches the node's host ports at")
    .option("--clear", "use the address the node's agent connects from again")
    .action(addressCmd);
}
