// The platform's image registry: the CNCF distribution registry (`docker-registry`), on loopback, with
// htpasswd credentials generated on first start and stored in the data dir (0600).
import crypto from "node:crypto";
import fs from "node:fs/promises";
import path from "node:path";
import bcrypt from "bcryptjs";
import type { Logger } from "../logger.ts";
import type { RegistryInfo } from "../service-types.ts";
import { Supervisor, type SupervisorState } from "../lib/supervisor.ts";
import { freeLoopbackPort } from "../lib/free-port.ts";
import { stopLeftovers } from "../process/leftovers.ts";
import { runTool } from "../process/run.ts";

interface Credentials {
  username: string;
  password: string;
  /** Shared secret the registry signs upload state with. */
  httpSecret: string;
}

async function loadCredentials(dir: string): Promise<Credentials> {
  const file = path.join(dir, "credentials.json");
  try {
    return JSON.parse(await fs.readFile(file, "utf8")) as Credentials;
  } catch {
    const random = () => crypto.randomBytes(24).toString("base64url");
    const creds = { username: "berth", password: random(), httpSecret: random() };
    await fs.writeFile(file, JSON.stringify(creds), { mode: 0o600 });
    return creds;
  }
}

// JSON strings are valid YAML scalars, so every value is written with JSON.stringify: no quoting bugs.
function registryConfig(dataDir: string, addr: string, htpasswd: string, secret: string): string {
  const q = JSON.stringify;
  return [
    "version: 0.1",
    "log:",
    "  level: warn",
    "storage:",
    "  filesystem:",
    `    rootdirectory: ${q(dataDir)}`,
    "  delete:",
    "    enabled: true",
    "http:",
    `  addr: ${q(addr)}`,
    `  secret: ${q(secret)}`,
    "auth:",
    "  htpasswd:",
    '    realm: "berth-registry"',
    `    path: ${q(htpasswd)}`,
    "",
  ].join("\n");
}

/** Starts the registry on 127.0.0.1:port under `root`; resolves once it answers HTTP. */
export interface RunningRegistry {
  info: RegistryInfo;
  /** The supervised process's state (platform health). */
  state: () => SupervisorState;
  stop: () => Promise<void>;
}

export async function startRegistry(root: string, port: number, log: Logger): Promise<RunningRegistry> {
  await fs.mkdir(path.join(root, "data"), { recursive: true, mode: 0o700 });
  await fs.chmod(root, 0o700);
  const creds = await loadCredentials(root);
  const htpasswd = path.join(root, "htpasswd");
  await fs.writeFile(htpasswd, `${creds.username}:${bcrypt.hashSync(creds.password, 10)}\n`, { mode: 0o600 });
  const configFile = path.join(root, "config.yml");
  // One left serving by a control plane killed with -9 stops first: garbage collection needs the store to itself.
  await stopLeftovers({ argv: ["docker-registry", "serve", configFile] }, "image registry", log);
  const addr = `127.0.0.1:${port === 0 ? await freeLoopbackPort() : port}`;
  await fs.writeFile(configFile, registryConfig(path.join(root, "data"), addr, htpasswd, creds.httpSecret), {
    mode: 0o600,
  });
  // Reclaim blobs of manifests deleted by pruning while the registry is not serving (the only safe time).
  const hasRepos = await fs.stat(path.join(root, "data", "docker", "registry", "v2", "repositories")).then(
    () => true,
    () => false,
  );
  if (hasRepos) {
    // No time limit (as before): it walks the local store once, and the registry must not serve while it runs.
    await runTool("docker-registry", ["garbage-collect", configFile], { timeoutMs: 0 }).catch((err: Error) => {
      log.warn({ err: err.message }, "registry garbage collection failed; continuing");
    });
  }
  const sup = new Supervisor({ name: "registry", command: "docker-registry", args: ["serve", configFile] }, log);
  sup.start();
  const deadline = Date.now() + 20_000;
  for (;;) {
    const status = await fetch(`http://${addr}/v2/`).then(
      (r) => r.status,
      () => 0,
    );
    if (status === 401 || status === 200) break;
    if (Date.now() > deadline) {
      await sup.stop();
      throw new Error(`registry did not start on ${addr}`);
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  log.info({ addr }, "registry ready");
  return {
    info: { host: addr, username: creds.username, password: creds.password },
    state: () => sup.state(),
    stop: () => sup.stop(),
  };
}
