// A local-agent join token for tests whose in-process agents connect from 127.0.0.1 and publish on loopback: the
// control plane routes to loopback only for nodes that joined with such a token (server/nodes/address-policy.ts).
// Made through the same function startLocalAgent uses; no API route can make one.
import { createLocalJoinToken } from "../../server/nodes/join-tokens.ts";
import type { TestServer } from "./server.ts";

/** Creates a local join token named `name`, shared or (with `team`, a team name) for that team's nodes. */
export async function localJoinToken(srv: TestServer, name: string, team?: string): Promise<string> {
  const db = srv.cp.services.db;
  const teamId = team ? (await db.team.findUniqueOrThrow({ where: { name: team } })).id : null;
  return (await createLocalJoinToken(db, { name, teamId })).token;
}
