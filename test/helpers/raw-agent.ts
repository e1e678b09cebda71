// A protocol-level fake agent: a raw WebSocket to the agent endpoint that registers with whatever it is told to claim
// and then sends whatever frames the test wants (a hostile node's view of the protocol). It answers desired states
// with "changed" and observed-state requests with nothing, so the control plane treats it as a live node.
import WebSocket from "ws";
import {
  encodeNotification,
  encodeRequest,
  type InstanceEvent,
  PROTOCOL_VERSION,
  type RegisterParams,
} from "../../runtime-agent/protocol/index.ts";

export interface RawAgent {
  ws: WebSocket;
  nodeId: string;
  /** Resolves with the close code once the control plane (or anyone) closes the socket. */
  closed: Promise<number>;
  /** True until the socket closes. */
  isOpen(): boolean;
  /** Sends an `instance.event` notification. */
  event(e: InstanceEvent): void;
  close(): void;
}

/** Register params of a small test node; `address` is whatever the node claims. */
export function registerParams(hostname: string, address = "127.0.0.1"): RegisterParams {
  return {
    protocolVersion: PROTOCOL_VERSION,
    hostname,
    address,
    cpus: 2,
    memoryBytes: 4 * 1024 ** 3,
    diskBytes: 50 * 1024 ** 3,
    kernel: "6.1.0-test",
    cgroupVersion: 2,
    userNamespaces: true,
    agentVersion: "0.1.0",
  };
}

/** Connects to `baseUrl` with `token`, registers as `params`; rejects when the handshake or registration fails. */
export async function connectRawAgent(baseUrl: string, token: string, params: RegisterParams): Promise<RawAgent> {
  const ws = new WebSocket(`${baseUrl.replace(/^http/, "ws")}/api/v1/agent`, {
    headers: { authorization: `Bearer ${token}` },
  });
  let open = true;
  const closed = new Promise<number>((resolve) =>
    ws.once("close", (code) => {
      open = false;
      resolve(code);
    }),
  );
  await new Promise<void>((resolve, reject) => {
    ws.once("open", () => resolve());
    ws.once("unexpected-response", (_req, res) => reject(new Error(`agent handshake answered ${res.statusCode}`)));
    ws.once("error", reject);
  });
  const nodeId = await new Promise<string>((resolve, reject) => {
    ws.on("message", (raw: Buffer) => {
      const f = JSON.parse(raw.toString()) as {
        id?: string | number;
        method?: string;
        params?: { generation?: number };
        result?: { nodeId?: string };
        error?: { message: string };
      };
      if (f.id === "r1") {
        if (f.result?.nodeId) resolve(f.result.nodeId);
        else reject(new Error(f.error?.message ?? "registration failed"));
        return;
      }
      // Requests from the control plane: acknowledge desired states, report nothing running.
      if (f.id !== undefined && f.method === "node.applyDesiredState") {
        ws.send(JSON.stringify({ id: f.id, result: { generation: f.params?.generation ?? 0, changed: true } }));
      } else if (f.id !== undefined && f.method === "node.observedState") {
        ws.send(JSON.stringify({ id: f.id, result: { instances: [] } }));
      }
    });
    ws.send(encodeRequest("r1", "node.register", params));
  });
  return {
    ws,
    nodeId,
    closed,
    isOpen: () => open,
    event: (e) => ws.send(encodeNotification("instance.event", e)),
    close: () => ws.terminate(),
  };
}
