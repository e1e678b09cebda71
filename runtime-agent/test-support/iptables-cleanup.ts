// Removes the shared portmap chains (CNI-HOSTPORT-*) from the nat table when the test run created them, i.e. they
// were absent before and no other CNI user has per-container chains now.
import { run } from "../runtime/exec.ts";

const IPTABLES = "/usr/sbin/iptables";

/** Splits one `iptables -S` rule into argv (double quotes group words, as iptables prints comments). Pure. */
export function splitRule(rule: string): string[] {
  const out: string[] = [];
  const re = /"((?:[^"\\]|\\.)*)"|(\S+)/g;
  for (let m = re.exec(rule); m; m = re.exec(rule))
    out.push(m[1] !== undefined ? m[1].replace(/\\(.)/g, "$1") : (m[2] as string));
  return out;
}

async function natRules(): Promise<string[]> {
  const { stdout } = await run(IPTABLES, ["-w", "-t", "nat", "-S"]);
  return stdout.split("\n").filter(Boolean);
}

/** True if the shared portmap chains exist. */
export async function hostportChainsExist(): Promise<boolean> {
  return (await natRules()).some((r) => r.startsWith("-N CNI-HOSTPORT-"));
}

/** Deletes the shared portmap chains and the jumps to them, unless per-container CNI chains still exist. */
export async function removeHostportChains(): Promise<void> {
  const rules = await natRules();
  if (rules.some((r) => /^-N CNI-(DN|SN)-/.test(r))) return; // someone still uses them
  for (const r of rules.filter((x) => x.startsWith("-A ") && /-j CNI-HOSTPORT-/.test(x))) {
    const argv = splitRule(r);
    argv[0] = "-D";
    await run(IPTABLES, ["-w", "-t", "nat", ...argv]).catch(() => undefined);
  }
  const chains = rules.filter((r) => r.startsWith("-N CNI-HOSTPORT-")).map((r) => r.slice(3));
  for (const c of chains) await run(IPTABLES, ["-w", "-t", "nat", "-F", c]).catch(() => undefined);
  for (const c of chains) await run(IPTABLES, ["-w", "-t", "nat", "-X", c]).catch(() => undefined);
}
