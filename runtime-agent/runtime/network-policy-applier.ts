// Applies the node's network policy (network-policy.ts) to the host: one `iptables-restore --noflush` of the node's
// own chains per change, built from the instances' on-disk records, so every rebuild is complete and idempotent
// (an agent restart, a second backend on the same state dir or a crash between steps cannot leave duplicates or
// strays in those chains). Rebuilds are coalesced: callers that arrive while one runs share the next one.
import fs from "node:fs/promises";
import type { Logger } from "pino";
import { RuntimeError } from "./errors.ts";
import { run } from "./exec.ts";
import {
  type HookRule,
  hookCount,
  hookRules,
  ownedChains,
  policyLines,
  type PolicyIngress,
  type PolicyMember,
  type PolicyNode,
  policyRestoreScript,
  removalRestoreScript,
} from "./network-policy.ts";

/** Absolute paths of the iptables tools (iptables 1.8, nf_tables or legacy backend alike). */
export interface IptablesTools {
  iptables: string;
  iptablesRestore: string;
  iptablesSave: string;
  ip6tables: string;
  ip6tablesSave: string;
  modprobe: string;
}

export const IPTABLES_TOOLS: IptablesTools = {
  iptables: "/usr/sbin/iptables",
  iptablesRestore: "/usr/sbin/iptables-restore",
  iptablesSave: "/usr/sbin/iptables-save",
  ip6tables: "/usr/sbin/ip6tables",
  ip6tablesSave: "/usr/sbin/ip6tables-save",
  modprobe: "/usr/sbin/modprobe",
};

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const BRIDGE_NF = "/proc/sys/net/bridge";

/** Runs `iptables-restore --noflush` with `script`; retried, since another writer's commit can race with ours. */
async function restore(tools: IptablesTools, script: string): Promise<void> {
  for (let attempt = 1; ; attempt++) {
    try {
      await run(tools.iptablesRestore, ["-w", "--noflush"], { input: script, timeoutMs: 30_000 });
      return;
    } catch (err) {
      if (attempt >= 3) throw err;
      await sleep(50 * attempt);
    }
  }
}

const tool = (tools: IptablesTools, family: 4 | 6) => (family === 4 ? tools.iptables : tools.ip6tables);

async function ipv6Enabled(): Promise<boolean> {
  return fs.access("/proc/sys/net/ipv6").then(
    () => true,
    () => false,
  );
}

/**
 * Puts each hook in place exactly once: inserted at the top of its chain when missing, extra copies (a crash between
 * steps, an older agent) deleted while one stays, so bridge traffic is never unfiltered in between.
 */
async function reconcileHooks(tools: IptablesTools, hooks: HookRule[], saves: { 4: string; 6: string }) {
  let changed = 0;
  for (const h of hooks) {
    const n = hookCount(saves[h.family], h);
    if (n === 0) await run(tool(tools, h.family), ["-w", "-I", h.chain, "1", ...h.rule]);
    for (let i = 1; i < n; i++) await run(tool(tools, h.family), ["-w", "-D", h.chain, ...h.rule]);
    if (n !== 1) changed++;
  }
  return changed;
}

/**
 * Instances on one bridge reach each other at layer 2: only with br_netfilter (bridge-nf-call-iptables=1) do those
 * packets pass the FORWARD chain at all. Without it the policy cannot hold, so the agent refuses to run instances.
 */
async function ensureBridgeNetfilter(tools: IptablesTools, log: Logger): Promise<void> {
  const files = ["bridge-nf-call-iptables", "bridge-nf-call-ip6tables"].map((f) => `${BRIDGE_NF}/${f}`);
  const exists = await fs.access(files[0] as string).then(
    () => true,
    () => false,
  );
  if (!exists) await run(tools.modprobe, ["br_netfilter"]).catch(() => undefined);
  for (const f of files) {
    const value = (await fs.readFile(f, "utf8").catch(() => "")).trim();
    if (value === "1") continue;
    if (value === "") {
      throw new RuntimeError(
        "failed",
        `network policy: ${f} is missing (load the br_netfilter module); instances on one bridge cannot be isolated`,
      );
    }
    log.warn({ sysctl: f }, "enabling bridge netfilter: bridged packets must pass iptables for the network policy");
    await fs.writeFile(f, "1");
  }
}

/** portmap's SNAT mode turns route_localnet on for the bridge; the node never needs it (see cni.ts), so keep it off. */
async function disableRouteLocalnet(bridge: string): Promise<void> {
  const file = `/proc/sys/net/ipv4/conf/${bridge}/route_localnet`;
  const value = (await fs.readFile(file, "utf8").catch(() => "")).trim();
  if (value === "1") await fs.writeFile(file, "0");
}

/** The node's network policy on this host. */
export class NetworkPolicy {
  private known: Set<string> | undefined;
  /** True once the bridge netfilter, the existing chains and the hooks were checked (again after sync()). */
  private checked = false;
  private queued: Promise<void> | undefined;
  private tail: Promise<void> = Promise.resolve();
  /** Per-app ingress rules from the last desired state (add-ons reachable only from their attached apps). */
  private ingress: PolicyIngress[] = [];
  private ingressKey = "[]";

  constructor(
    readonly node: PolicyNode,
    /** The instances the policy is for, read from their records at every rebuild. */
    private readonly members: () => Promise<PolicyMember[]>,
    private readonly log: Logger,
    private readonly tools: IptablesTools = IPTABLES_TOOLS,
  ) {}

  /** Rebuilds the node's chains from the current records; resolves once a rebuild that started after the call is in. */
  refresh(): Promise<void> {
    if (this.queued) return this.queued;
    const next = this.tail.then(() => {
      this.queued = undefined;
      return this.rebuild();
    });
    this.queued = next;
    this.tail = next.catch(() => undefined);
    return next;
  }

  /**
   * Replaces the per-app ingress rules and rebuilds when they changed (attach/detach take effect without touching
   * any container). Rules for apps without an instance here are kept and cost nothing.
   */
  setIngress(rules: readonly PolicyIngress[]): Promise<void> {
    const next = rules
      .map((r) => ({ team: r.team, app: r.app, from: [...new Set(r.from)].sort() }))
      .sort((a, b) => `${a.team}/${a.app}`.localeCompare(`${b.team}/${b.app}`));
    const key = JSON.stringify(next);
    if (key === this.ingressKey) return Promise.resolve();
    this.ingress = next;
    // Marked applied only once a rebuild with it is in, so a failed one is retried at the next call.
    return this.refresh().then(() => {
      if (this.ingress === next) this.ingressKey = key;
    });
  }

  /** Re-reads which chains exist and re-checks the hooks, then rebuilds (at agent start). */
  sync(): Promise<void> {
    return this.tail.then(() => {
      this.checked = false;
      return this.refresh();
    });
  }

  private async rebuild(): Promise<void> {
    const { bridge } = this.node;
    let saves: { 4: string; 6: string } | undefined;
    if (!this.checked) {
      await ensureBridgeNetfilter(this.tools, this.log);
      saves = {
        4: await save(this.tools.iptablesSave),
        6: (await ipv6Enabled()) ? await save(this.tools.ip6tablesSave) : "",
      };
      this.known = new Set(ownedChains(saves[4], bridge));
    }
    const members = await this.members();
    const { script, chains } = policyRestoreScript(this.node, members, [...(this.known ?? [])], this.ingress);
    try {
      await restore(this.tools, script);
    } catch (err) {
      this.checked = false; // re-read what exists before the next attempt
      throw new RuntimeError("failed", `applying the network policy of ${bridge} failed`, { cause: err });
    }
    this.known = new Set(chains);
    if (saves) {
      const hooks = hookRules(bridge).filter((h) => h.family === 4 || saves[6] !== "");
      const changed = await reconcileHooks(this.tools, hooks, saves);
      if (changed > 0) this.log.info({ bridge, hooks: changed }, "network policy hooks put in place");
      this.checked = true;
    }
    await disableRouteLocalnet(bridge);
  }
}

async function save(file: string): Promise<string> {
  return (await run(file, ["-t", "filter"], { timeoutMs: 30_000 })).stdout;
}

/** Deletes a rule until it is gone (a crashed run may have inserted it twice); true if it was there. */
async function deleteAll(file: string, chain: string, rule: string[]): Promise<boolean> {
  let found = false;
  for (let i = 0; i < 20; i++) {
    const ok = await run(file, ["-w", "-D", chain, ...rule]).then(
      () => true,
      () => false,
    );
    if (!ok) return found;
    found = true;
  }
  return found;
}

/**
 * Removes the node's whole policy from the host: the hooks, then its chains. Only for a node with no instance left
 * (tests, decommissioning): with instances still running it would lift their isolation.
 */
export async function removeNetworkPolicy(bridge: string, tools: IptablesTools = IPTABLES_TOOLS): Promise<void> {
  for (const h of hookRules(bridge)) {
    if (h.family === 6 && !(await ipv6Enabled())) continue;
    await deleteAll(tool(tools, h.family), h.chain, h.rule);
  }
  const script = removalRestoreScript(ownedChains(await save(tools.iptablesSave), bridge));
  if (script) await restore(tools, script);
}

/** The lines of `iptables-save` and `ip6tables-save` that belong to the node's policy (for counting in tests). */
export async function networkPolicyLines(bridge: string, tools: IptablesTools = IPTABLES_TOOLS): Promise<string[]> {
  const save = async (file: string) =>
    (await run(file, ["-t", "filter"], { timeoutMs: 30_000 }).catch(() => ({ stdout: "" }))).stdout;
  return [
    ...policyLines(await save(tools.iptablesSave), bridge),
    ...policyLines(await save(tools.ip6tablesSave), bridge),
  ];
}
