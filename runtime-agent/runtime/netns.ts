// Named network namespaces (`ip netns`), one per instance, at /var/run/netns/<name> so runc can join them by path.
import fs from "node:fs/promises";
import path from "node:path";
import { isRuntimeError } from "./errors.ts";
import { run } from "./exec.ts";

/** Where iproute2 keeps named namespaces. */
export const NETNS_DIR = "/var/run/netns";

const NAME = /^[a-z][a-z0-9-]{0,100}$/;

function checkName(name: string): string {
  if (!NAME.test(name)) throw new Error(`invalid netns name ${JSON.stringify(name)}`);
  return name;
}

/** Path of the named namespace `name`. */
export function netnsPath(name: string): string {
  return path.join(NETNS_DIR, checkName(name));
}

/** Named network namespaces managed by iproute2. */
export class NetnsManager {
  constructor(private readonly ipPath: string) {}

  /** Creates the namespace (an existing one is reused: creation is the first step a crashed create may repeat). */
  async add(name: string): Promise<string> {
    const p = netnsPath(name);
    if (await this.exists(name)) return p;
    await run(this.ipPath, ["netns", "add", checkName(name)], { timeoutMs: 15_000 });
    return p;
  }

  /** Deletes the namespace; a missing one is fine. */
  async delete(name: string): Promise<void> {
    if (!(await this.exists(name))) return;
    try {
      await run(this.ipPath, ["netns", "delete", checkName(name)], { timeoutMs: 15_000 });
    } catch (err) {
      if (isRuntimeError(err) && /No such file/.test(err.message)) return;
      throw err;
    }
  }

  /** True if the namespace exists. */
  async exists(name: string): Promise<boolean> {
    return fs.access(netnsPath(name)).then(
      () => true,
      () => false,
    );
  }

  /** Names of existing namespaces starting with `prefix`. */
  async list(prefix: string): Promise<string[]> {
    const names = await fs.readdir(NETNS_DIR).catch(() => [] as string[]);
    return names.filter((n) => n.startsWith(prefix)).sort();
  }
}
