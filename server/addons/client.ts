// `berth addons:psql` / `addons:redis-cli`: which container and command an interactive client session to an add-on
// runs. The session is a one-off of the add-on's hidden service app (its image has the client; its config vars, the
// generated credentials, are in the one-off's environment), authorized through the owning app (server/exec/
// run-session.ts). The command names only variables: credentials never reach an argv (`ps` on the node shows none)
// nor the audit log. docs/addons.md.
import type { Services } from "../context.ts";
import { errors } from "../errors.ts";
import { ADDON_NAME_PATTERN, CREDENTIAL_VARS } from "./catalog.ts";
import { serviceAddress } from "./provision.ts";

/** The interactive clients and the add-on kind each talks to. */
export const ADDON_CLIENTS = { psql: "postgres", "redis-cli": "redis" } as const;
export type AddonClient = keyof typeof ADDON_CLIENTS;

/** Node addresses are IPs or host names; anything else never reaches a shell. */
const HOST = /^[A-Za-z0-9][A-Za-z0-9.:-]{0,252}$/;

/** The shell command of `client` against host:port, credentials from the one-off's environment. */
export function clientCommand(client: AddonClient, host: string, port: number): string {
  if (!HOST.test(host) || !Number.isInteger(port) || port < 1 || port > 65_535) throw new Error("bad service address");
  if (client === "psql") {
    return (
      `PGHOST='${host}' PGPORT=${port} PGUSER="$${CREDENTIAL_VARS.user}" PGPASSWORD="$${CREDENTIAL_VARS.password}" ` +
      `PGDATABASE="$${CREDENTIAL_VARS.database}" exec psql`
    );
  }
  // redis-cli reads the password from REDISCLI_AUTH (never -a, which would put it on the command line).
  return `REDISCLI_AUTH="$BERTH_REDIS_PASSWORD" exec redis-cli -h '${host}' -p ${port}`;
}

/**
 * The add-on `name` of `app` (default: its only one of the client's kind), which must be available: its service
 * app and the client command. Called after the caller authorized `app` (member and above).
 */
export async function addonClientTarget(
  s: Services,
  app: { id: string; name: string },
  client: AddonClient,
  name: string | undefined,
): Promise<{ service: { id: string; name: string }; command: string; addon: string }> {
  const kind = ADDON_CLIENTS[client];
  if (name !== undefined && !ADDON_NAME_PATTERN.test(name))
    throw errors.notFound(`add-on ${JSON.stringify(name)} of app '${app.name}'`);
  const rows = await s.db.addon.findMany({
    where: { appId: app.id, kind, ...(name !== undefined ? { name } : {}) },
    include: { serviceApp: { select: { id: true, name: true } } },
    orderBy: { name: "asc" },
  });
  if (rows.length === 0)
    throw errors.notFound(
      name !== undefined ? `${kind} add-on '${name}' of app '${app.name}'` : `${kind} add-on of app '${app.name}'`,
    );
  if (rows.length > 1)
    throw errors.conflict(`${app.name} has several ${kind} add-ons; name one (${rows.map((r) => r.name).join(", ")})`);
  const a = rows[0]!;
  if (a.state !== "available") throw errors.conflict(`add-on ${a.name} is ${a.state}, not available`);
  const addr = await serviceAddress(s, a.serviceAppId);
  if (!addr) throw errors.unavailable(`add-on ${a.name} is not running right now; try again shortly`);
  return { service: a.serviceApp, command: clientCommand(client, addr.host, addr.port), addon: a.name };
}
