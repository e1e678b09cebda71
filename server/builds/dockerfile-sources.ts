// The image sources a Dockerfile names (FROM, COPY/ADD --from, RUN --mount from=), checked before buildah runs for
// containers-image transports other than registries: `containers-storage:[overlay@/path]img`, `oci-archive:/path`,
// `dir:/path` and the like make buildah open stores, archives and directories on the host. The signature policy
// (buildSourcePolicy in buildah.ts) is what refuses to read such an image; this check runs first so that buildah
// does not even open the path (opening a store creates its directories and lock files, and a missing file gives
// itself away in the error), and the pusher gets a clear message. It follows ARG substitution with every value the
// file and the build args give; references it cannot see (a base image's ONBUILD triggers) meet the policy alone.

/** containers-image transports (`transport:details`); `docker` (a registry) is the only one builds may use. */
const TRANSPORTS = new Set([
  "containers-storage",
  "dir",
  "docker-archive",
  "docker-daemon",
  "oci",
  "oci-archive",
  "ostree",
  "sif",
  "tarball",
]);

/** Most ARG combinations tried for one value (each variable's candidates multiply). */
const MAX_COMBINATIONS = 1024;

/** The non-registry transport a reference names (`oci-archive` for `oci-archive:/x.tar`), or null. Pure. */
export function transportOf(ref: string): string | null {
  const m = /^\s*([A-Za-z][A-Za-z0-9-]*):/.exec(ref);
  const name = m?.[1]?.toLowerCase();
  return name && TRANSPORTS.has(name) ? name : null;
}

/** Logical lines: continuation lines joined, comments and blank lines dropped, `# escape=` honoured. Pure. */
export function logicalLines(dockerfile: string): string[] {
  const lines = dockerfile.split(/\r?\n/);
  let escape = "\\";
  // Parser directives: comment lines of the form `# key=value` at the very top.
  for (const l of lines) {
    const m = /^#\s*([a-zA-Z]+)\s*=\s*(\S+)\s*$/.exec(l);
    if (!m) break;
    if (m[1]!.toLowerCase() === "escape" && (m[2] === "`" || m[2] === "\\")) escape = m[2];
  }
  const out: string[] = [];
  let cur = "";
  for (const raw of lines) {
    if (/^\s*#/.test(raw)) continue;
    const line = raw.replace(/\s+$/, "");
    if (line.endsWith(escape)) {
      cur += `${line.slice(0, -1)} `;
      continue;
    }
    cur += line;
    if (cur.trim()) out.push(cur.trim());
    cur = "";
  }
  if (cur.trim()) out.push(cur.trim());
  return out;
}

const unquote = (v: string) => v.replace(/^(["'])(.*)\1$/, "$2");

/** `ARG A=1 B` declarations of a line (values unquoted; a bare name has no default). */
function argDeclarations(rest: string): [string, string | undefined][] {
  const out: [string, string | undefined][] = [];
  for (const m of rest.matchAll(/([A-Za-z_][A-Za-z0-9_]*)(?:=("[^"]*"|'[^']*'|\S*))?/g)) {
    out.push([m[1]!, m[2] === undefined ? undefined : unquote(m[2])]);
  }
  return out;
}

/** Source values of one instruction, before substitution. */
function sourcesOf(instruction: string, rest: string): string[] {
  const words = rest.split(/\s+/).filter(Boolean);
  switch (instruction) {
    case "FROM": {
      const image = words.find((w) => !w.startsWith("--"));
      return image ? [image] : [];
    }
    case "COPY":
    case "ADD":
      return words.filter((w) => /^--from=/i.test(w)).map((w) => unquote(w.slice("--from=".length)));
    case "RUN":
      return words
        .filter((w) => /^--mount=/i.test(w))
        .flatMap((w) =>
          w
            .slice("--mount=".length)
            .split(",")
            .filter((kv) => /^from=/i.test(kv))
            .map((kv) => unquote(kv.slice("from=".length))),
        );
    default:
      return [];
  }
}

/** Expands `$X`, `${X}`, `${X:-w}`, `${X-w}`, `${X:+w}`, `${X+w}` with `env` (unset = empty). Pure. */
export function expand(value: string, env: Record<string, string>): string {
  return value.replace(
    /\\\$|\$\{([A-Za-z_][A-Za-z0-9_]*)(?:(:?[-+])((?:[^{}]|\{[^{}]*\})*))?\}|\$([A-Za-z_][A-Za-z0-9_]*)/g,
    (all, braced: string | undefined, op: string | undefined, word: string | undefined, bare: string | undefined) => {
      if (all === "\\$") return "$";
      const v = env[braced ?? bare ?? ""] ?? "";
      if (!op) return v;
      if (op.endsWith("-")) return v !== "" ? v : expand(word ?? "", env);
      return v !== "" ? expand(word ?? "", env) : "";
    },
  );
}

/** Every value `value` can take: each combination of the candidates of the variables it names (capped). */
function expansions(value: string, candidates: Map<string, Set<string>>): string[] {
  const names = [...new Set([...value.matchAll(/\$\{?([A-Za-z_][A-Za-z0-9_]*)/g)].map((m) => m[1]!))];
  let envs: Record<string, string>[] = [{}];
  for (const n of names) {
    const values = [...(candidates.get(n) ?? new Set<string>()), ""];
    envs = envs.flatMap((e) => values.map((v) => ({ ...e, [n]: v })));
    if (envs.length > MAX_COMBINATIONS) break;
  }
  return [...new Set(envs.slice(0, MAX_COMBINATIONS).map((e) => expand(value, e)))];
}

/**
 * The image sources of a Dockerfile that name a non-registry transport, as buildah would see them after ARG
 * substitution (every default of every `ARG` of that name, and the build arg); `ONBUILD` instructions count too. Pure.
 */
export function transportSources(dockerfile: string, buildArgs: Record<string, string>): string[] {
  const candidates = new Map<string, Set<string>>();
  const add = (name: string, v: string) => candidates.set(name, (candidates.get(name) ?? new Set()).add(v));
  const lines = logicalLines(dockerfile).map((l) => {
    const m = /^(?:ONBUILD\s+)?([A-Za-z]+)\s*(.*)$/i.exec(l);
    return { instruction: (m?.[1] ?? "").toUpperCase(), rest: m?.[2] ?? "" };
  });
  for (const { instruction, rest } of lines) {
    if (instruction !== "ARG") continue;
    for (const [name, def] of argDeclarations(rest)) if (def !== undefined) add(name, def);
  }
  for (const [name, v] of Object.entries(buildArgs)) add(name, v);
  // Defaults may themselves name other ARGs (`ARG B=$A`): expand candidates once more with the first round.
  for (const [name, values] of [...candidates]) {
    for (const v of [...values]) if (v.includes("$")) for (const e of expansions(v, candidates)) add(name, e);
  }
  const found: string[] = [];
  for (const { instruction, rest } of lines) {
    for (const source of sourcesOf(instruction, rest)) {
      for (const value of expansions(source, candidates)) {
        if (transportOf(value)) found.push(value);
      }
    }
  }
  return [...new Set(found)];
}
