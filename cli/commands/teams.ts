// `berth teams`, `teams:create`, `members`, `members:add`, `members:remove`, `members:set-role`.
import { Option, type Command } from "commander";
import { seg } from "../api-client.ts";
import type { CreatedInvitation, Member, Team } from "../api-types.ts";
import { checkName, ROLES } from "../names.ts";
import { formatDate, printJson, println, printTable } from "../output.ts";
import { authedClient } from "../session.ts";

interface TeamOpts {
  json?: boolean;
  team: string;
}

const roleOption = () => new Option("--role <role>", "role in the team").choices(ROLES);

async function listTeams(opts: { json?: boolean }): Promise<void> {
  const { body } = await authedClient().get<Team[]>("/teams");
  if (opts.json) return printJson(body);
  printTable(
    ["NAME", "ROLE", "APPS", "MEMBERS", "PERSONAL"],
    body.map((t) => [t.name, t.role, String(t.apps), String(t.members), t.personal ? "yes" : "no"]),
    "No teams yet; create one with `berth teams:create NAME`.",
  );
}

async function createTeam(name: string, opts: { json?: boolean }): Promise<void> {
  const { body } = await authedClient().post<Team>("/teams", { name: checkName("team", name) });
  if (opts.json) return printJson(body);
  println(`Created team ${body.name}; you are its ${body.role}.`);
}

async function listMembers(opts: TeamOpts): Promise<void> {
  const team = checkName("team", opts.team);
  const { body } = await authedClient().get<Member[]>(`/teams/${seg(team)}/members`);
  if (opts.json) return printJson(body);
  printTable(
    ["EMAIL", "NAME", "ROLE", "SINCE"],
    body.map((m) => [m.email, m.name || "-", m.role, formatDate(m.createdAt)]),
    `No members in ${team}.`,
  );
}

async function addMember(email: string, opts: TeamOpts & { role: string }): Promise<void> {
  const team = checkName("team", opts.team);
  const api = authedClient();
  const res = await api.post<{ member?: Member; invitation?: CreatedInvitation }>(`/teams/${seg(team)}/members`, {
    email,
    role: opts.role,
  });
  const inv = res.body.invitation;
  // 202: no account has this email yet, so the server created an invitation the user must pass on.
  const inviteUrl = res.status === 202 && inv ? `${api.url}${inv.acceptPath}` : null;
  if (opts.json) return printJson(inviteUrl ? { ...res.body, inviteUrl } : res.body);
  if (inv && inviteUrl) {
    println(`${inv.email} has no account yet; invited them to ${team} as ${inv.role}.`);
    println(`Send them this link (valid until ${formatDate(inv.expiresAt)} UTC):`);
    println(inviteUrl);
    return;
  }
  const m = res.body.member;
  println(`Added ${m?.email ?? email} to ${team} as ${m?.role ?? opts.role}.`);
}

async function removeMember(email: string, opts: TeamOpts): Promise<void> {
  const team = checkName("team", opts.team);
  await authedClient().delete(`/teams/${seg(team)}/members/${seg(email)}`);
  if (opts.json) return printJson({ removed: email, team });
  println(`Removed ${email} from ${team}.`);
}

async function setRole(email: string, opts: TeamOpts & { role: string }): Promise<void> {
  const team = checkName("team", opts.team);
  const { body } = await authedClient().patch<Member>(`/teams/${seg(team)}/members/${seg(email)}`, { role: opts.role });
  if (opts.json) return printJson(body);
  println(`${body.email} is now ${body.role} in ${team}.`);
}

/** Registers the teams and members topics. */
export function registerTeamCommands(program: Command): void {
  program.command("teams").description("list your teams and your role in each").action(listTeams);
  program
    .command("teams:create")
    .description("create a team (you become its owner)")
    .argument("<team>", "team name")
    .action(createTeam);
  program
    .command("members")
    .description("list a team's members")
    .requiredOption("-t, --team <team>", "team name")
    .action(listMembers);
  program
    .command("members:add")
    .description("add a user to a team, or invite an email that has no account yet")
    .argument("<email>", "email address")
    .addOption(roleOption().default("member"))
    .requiredOption("-t, --team <team>", "team name")
    .action(addMember);
  program
    .command("members:remove")
    .description("remove a member from a team")
    .argument("<email>", "member's email")
    .requiredOption("-t, --team <team>", "team name")
    .action(removeMember);
  program
    .command("members:set-role")
    .description("change a member's role")
    .argument("<email>", "member's email")
    .addOption(roleOption().makeOptionMandatory())
    .requiredOption("-t, --team <team>", "team name")
    .action(setRole);
}
