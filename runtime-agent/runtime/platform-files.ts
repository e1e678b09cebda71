// The only host files a container sees: /etc/hosts and /etc/resolv.conf, written by the agent per instance.
import fs from "node:fs/promises";

/** /etc/hosts of an instance: localhost plus its own name on its bridge address. Pure. */
export function hostsFile(id: string, ip: string): string {
  return ["127.0.0.1\tlocalhost", "::1\tlocalhost ip6-localhost ip6-loopback", `${ip}\t${id}`, ""].join("\n");
}

/** /etc/resolv.conf with the given nameservers. Pure. */
export function resolvConf(nameservers: readonly string[]): string {
  return [...nameservers.map((n) => `nameserver ${n}`), "options ndots:1", ""].join("\n");
}

/** Non-loopback nameservers of a resolv.conf text (loopback resolvers are unreachable from a netns). Pure. */
export function usableNameservers(text: string): string[] {
  return text
    .split("\n")
    .map((l) => /^\s*nameserver\s+([0-9a-fA-F:.]+)\s*$/.exec(l)?.[1])
    .filter((n): n is string => n !== undefined && !n.startsWith("127.") && n !== "::1")
    .slice(0, 3);
}

/** The host's usable nameservers. */
export async function hostNameservers(): Promise<string[]> {
  return usableNameservers(await fs.readFile("/etc/resolv.conf", "utf8").catch(() => ""));
}
