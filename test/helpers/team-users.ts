// The cast of an authorization test: the owner's team gets a member and a viewer, and a stranger signs up on their
// own (another team). Each gets an API token for the CLI and the sockets.
import { expect } from "vitest";
import { ApiClient } from "./client.ts";

export type Who = "owner" | "member" | "viewer" | "stranger";

/** Signs up `<prefix>-member`, `-viewer` (both in the owner's first team) and `-stranger`; returns every token. */
export async function addTeamUsers(
  serverUrl: string,
  owner: ApiClient,
  prefix: string,
): Promise<{ team: string; tokens: Record<Who, string> }> {
  const tokens: Record<Who, string> = {
    owner: (await owner.tokenClient()).token,
    member: "",
    viewer: "",
    stranger: "",
  };
  const team = (await owner.req<any[]>("GET", "/api/v1/teams")).body[0].name as string;
  for (const [who, role] of [
    ["member", "member"],
    ["viewer", "viewer"],
    ["stranger", null],
  ] as const) {
    const c = new ApiClient(serverUrl);
    await c.signUp(`${prefix}-${who}@example.com`);
    tokens[who] = (await c.tokenClient()).token;
    if (role)
      expect(
        (await owner.req("POST", `/api/v1/teams/${team}/members`, { email: `${prefix}-${who}@example.com`, role }))
          .status,
      ).toBe(201);
  }
  return { team, tokens };
}
