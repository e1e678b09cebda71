// Resolves the image's `User` (name, uid, name:group, uid:gid...) against the rootfs's /etc/passwd and
// /etc/group texts. Pure: the caller reads the files (safely) and passes their contents.

export interface ResolvedUser {
  uid: number;
  gid: number;
  additionalGids: number[];
}

const NUMERIC = /^\d{1,10}$/;
const NAME = /^[A-Za-z_][A-Za-z0-9_.-]{0,31}\$?$/;
const MAX_ID = 0xfffffffe;

function parseTable(text: string): string[][] {
  return text
    .split("\n")
    .filter((l) => l && !l.startsWith("#"))
    .map((l) => l.split(":"));
}

function toId(v: string | undefined): number | null {
  if (v === undefined || !NUMERIC.test(v)) return null;
  const n = Number(v);
  return n <= MAX_ID ? n : null;
}

/** Resolves an image user spec to numeric ids; throws for unknown names or malformed specs. */
export function resolveImageUser(spec: string, passwd: string, group: string): ResolvedUser {
  const trimmed = spec.trim();
  if (trimmed === "") return { uid: 0, gid: 0, additionalGids: [] };
  const [userPart = "", groupPart, ...rest] = trimmed.split(":");
  if (rest.length > 0) throw new Error(`malformed image user ${JSON.stringify(spec)}`);
  const users = parseTable(passwd);
  const groups = parseTable(group);

  let uid: number;
  let userName: string | undefined;
  let primaryGid: number | undefined;
  const numericUid = toId(userPart);
  if (numericUid !== null) {
    uid = numericUid;
    const entry = users.find((u) => toId(u[2]) === uid);
    userName = entry?.[0];
    primaryGid = toId(entry?.[3]) ?? undefined;
  } else {
    if (!NAME.test(userPart)) throw new Error(`malformed image user ${JSON.stringify(spec)}`);
    const entry = users.find((u) => u[0] === userPart);
    const id = toId(entry?.[2]);
    if (!entry || id === null) throw new Error(`image user ${JSON.stringify(userPart)} not found in /etc/passwd`);
    uid = id;
    userName = userPart;
    primaryGid = toId(entry[3]) ?? undefined;
  }

  let gid: number;
  if (groupPart === undefined) {
    gid = primaryGid ?? 0;
  } else {
    const numericGid = toId(groupPart);
    if (numericGid !== null) gid = numericGid;
    else {
      if (!NAME.test(groupPart)) throw new Error(`malformed image group ${JSON.stringify(spec)}`);
      const id = toId(groups.find((g) => g[0] === groupPart)?.[2]);
      if (id === null) throw new Error(`image group ${JSON.stringify(groupPart)} not found in /etc/group`);
      gid = id;
    }
  }

  // Supplementary groups only when the group was not given explicitly, as Docker does.
  const additionalGids =
    groupPart === undefined && userName !== undefined
      ? groups
          .filter((g) => (g[3] ?? "").split(",").includes(userName))
          .map((g) => toId(g[2]))
          .filter((g): g is number => g !== null && g !== gid)
      : [];
  return { uid, gid, additionalGids: [...new Set(additionalGids)] };
}
