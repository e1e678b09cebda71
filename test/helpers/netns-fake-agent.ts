// Entry for a child process (run inside a simulated host's network namespace, see sim-hosts.ts): an agent on the
// FakeBackend that claims whatever address it is told, plus an HTTP server on its one host port that answers with a
// marker, so a test sees where the router really sends a node's traffic. Configured by environment:
// BERTH_CONTROL_PLANE_URL, BERTH_JOIN_TOKEN, NODE_NAME, CLAIMED_ADDRESS, HOST_PORT, MARKER.
import fs from "node:fs";
import http from "node:http";
import os from "node:os";
import path from "node:path";
import { startAgent } from "../../runtime-agent/agent/agent.ts";
import { silentLogger } from "../../runtime-agent/log.ts";
import { FakeBackend } from "../../runtime-agent/runtime/fake-backend.ts";
import { registerParams } from "./raw-agent.ts";

const env = (name: string): string => {
  const v = process.env[name];
  if (!v) throw new Error(`netns-fake-agent: ${name} is not set`);
  return v;
};
const port = Number(env("HOST_PORT"));
const marker = env("MARKER");
const server = http.createServer((_req, res) => res.end(marker));
await new Promise<void>((resolve) => server.listen(port, "0.0.0.0", resolve));
const stateDir = fs.mkdtempSync(path.join(os.tmpdir(), "berth-netns-agent-"));
const agent = await startAgent({
  controlPlane: env("BERTH_CONTROL_PLANE_URL"),
  joinToken: env("BERTH_JOIN_TOKEN"),
  stateDir,
  backend: new FakeBackend(),
  log: silentLogger(),
  tickMs: 100,
  hostPorts: { min: port, max: port },
  probe: async () => true,
  register: async () => registerParams(env("NODE_NAME"), env("CLAIMED_ADDRESS")),
});
const stop = () => {
  void agent.stop().finally(() => {
    fs.rmSync(stateDir, { recursive: true, force: true });
    server.close();
    process.exit(0);
  });
};
process.on("SIGTERM", stop);
process.on("SIGINT", stop);
