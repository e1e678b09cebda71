import { describe, expect, it } from "vitest";
import {
  DEFAULT_PIDS_LIMIT,
  EXEC_CHUNK_BYTES,
  EXEC_WINDOW_BYTES,
  DesiredState,
  encodeError,
  encodeNotification,
  encodeRequest,
  encodeResult,
  InstanceSpec,
  isValidImageRef,
  type InstanceSpecInput,
  MAX_FRAME_BYTES,
  parseFrame,
  parseResult,
  DEFAULT_BANDWIDTH_BITS_PER_SEC,
  DEFAULT_DISK_BYTES,
  PROTOCOL_VERSION,
  RegisterParams,
} from "./index.ts";

const instance: InstanceSpecInput = {
  id: "web-1-abc",
  app: "shop",
  team: "clx7k2m9p0000abcd1234efgh",
  release: "v12",
  processType: "web",
  image: "127.0.0.1:5000/shop:v12",
  command: ["/bin/sh", "-c", "exec node server.js"],
  env: { NODE_ENV: "production", DATABASE_URL: "postgres://u:p@db/x" },
  port: 5000,
  limits: { memoryBytes: 256 * 1024 * 1024, cpuMillis: 500 },
  healthCheck: { type: "http", path: "/healthz" },
  restartPolicy: "always",
};

const register = {
  protocolVersion: PROTOCOL_VERSION,
  hostname: "node-1.example",
  address: "10.0.0.5",
  cpus: 2,
  memoryBytes: 8e9,
  diskBytes: 1e11,
  kernel: "6.1.0-18-amd64",
  cgroupVersion: 1,
  userNamespaces: true,
  agentVersion: "0.1.0",
};

describe("parseFrame", () => {
  it("parses a request and applies its params schema (defaults included)", () => {
    const out = parseFrame(encodeRequest(7, "node.applyDesiredState", { generation: 3, instances: [instance] }));
    expect(out.ok).toBe(true);
    if (!out.ok || out.frame.kind !== "request" || out.frame.method !== "node.applyDesiredState")
      throw new Error("bad");
    expect(out.frame.id).toBe(7);
    expect(out.frame.params.instances[0]?.limits.pids).toBe(DEFAULT_PIDS_LIMIT);
    expect(out.frame.params.instances[0]?.limits.diskBytes).toBe(DEFAULT_DISK_BYTES);
    expect(out.frame.params.instances[0]?.limits.bandwidthBitsPerSec).toBe(DEFAULT_BANDWIDTH_BITS_PER_SEC);
    expect(out.frame.params.instances[0]?.stopGraceMs).toBe(10_000);
  });

  it("parses register requests, notifications, results and errors; accepts Buffers", () => {
    const reg = parseFrame(Buffer.from(encodeRequest("r1", "node.register", register as never)));
    expect(reg.ok && reg.frame.kind === "request" && reg.frame.method).toBe("node.register");
    const note = parseFrame(
      encodeNotification("instance.logs", {
        instanceId: "web-1",
        app: "shop",
        release: "v1",
        processType: "web",
        offset: 120,
        lines: [{ at: "2026-11-27T20:39:34.443653004+00:00", stream: "stdout", text: "hello" }],
      }),
    );
    expect(note.ok && note.frame.kind === "notification" && note.frame.method).toBe("instance.logs");
    const res = parseFrame(encodeResult(1, "node.register", { nodeId: "n1", heartbeatMs: 10_000 }));
    expect(res).toEqual({ ok: true, frame: { kind: "result", id: 1, result: { nodeId: "n1", heartbeatMs: 10_000 } } });
    const err = parseFrame(encodeError(null, "parse_error", "nope"));
    expect(err).toEqual({
      ok: true,
      frame: { kind: "error", id: null, error: { code: "parse_error", message: "nope" } },
    });
  });

  it.each([
    ["not json", "{", "parse_error"],
    ["an array", "[1,2]", "invalid_frame"],
    ["null", "null", "invalid_frame"],
    ["a number", "42", "invalid_frame"],
    ["no method/result/error", '{"id":1}', "invalid_frame"],
    ["a bad id", '{"id":-1,"method":"node.observedState","params":{}}', "invalid_frame"],
    ["an extra envelope key", '{"id":1,"method":"node.observedState","params":{},"x":1}', "invalid_frame"],
    ["a bad method name", '{"id":1,"method":"Node Register","params":{}}', "invalid_frame"],
    ["an unknown method", '{"id":1,"method":"node.shell","params":{}}', "unknown_method"],
    ["a prototype key as method", '{"id":1,"method":"constructor","params":{}}', "unknown_method"],
    ["an unknown notification", '{"method":"node.exec","params":{}}', "unknown_method"],
    ["bad notification params", '{"method":"node.stats","params":{"at":"yesterday","instances":[]}}', "invalid_params"],
    ["a bad error code", '{"id":1,"error":{"code":"teapot","message":"x"}}', "invalid_frame"],
  ])("rejects %s", (_name, raw, code) => {
    const out = parseFrame(raw);
    expect(out.ok).toBe(false);
    if (!out.ok) expect(out.error.code).toBe(code);
  });

  it("returns the request id with invalid params so the caller can answer", () => {
    const out = parseFrame(JSON.stringify({ id: "q9", method: "node.applyDesiredState", params: { generation: -1 } }));
    expect(out).toMatchObject({ ok: false, id: "q9", error: { code: "invalid_params" } });
  });

  it("rejects frames over the size limit without parsing them", () => {
    const big = JSON.stringify({ method: "node.reconnect", params: {}, pad: "x".repeat(MAX_FRAME_BYTES) });
    expect(parseFrame(big)).toMatchObject({ ok: false, error: { code: "invalid_frame" } });
    expect(parseFrame(Buffer.alloc(MAX_FRAME_BYTES + 1, 32))).toMatchObject({ ok: false });
  });

  it("never throws on garbage", () => {
    const samples = ["", "\u0000", '{"__proto__":{"x":1},"method":"node.reconnect","params":{}}', "1e999", '"str"'];
    for (let i = 0; i < 200; i++)
      samples.push(Buffer.from(Array.from({ length: 40 }, () => (i * 7919) % 256)).toString("latin1"));
    for (const s of samples) expect(() => parseFrame(s)).not.toThrow();
    expect(parseFrame(samples[2]!).ok).toBe(false);
  });
});

describe("exec frames", () => {
  const start = { session: "x0123456789", instanceId: "web-1", command: ["/bin/sh"], tty: true, cols: 80, rows: 24 };

  it("parses instance.exec and the exec.* notifications", () => {
    const req = parseFrame(encodeRequest(3, "instance.exec", start));
    expect(req.ok && req.frame.kind === "request" && req.frame.method).toBe("instance.exec");
    const input = parseFrame(encodeNotification("exec.input", { session: "x0123456789", data: "AAH/" }));
    expect(input).toMatchObject({ ok: true, frame: { params: { data: "AAH/", eof: false } } });
    const exit = parseFrame(encodeNotification("exec.exit", { session: "x0123456789", exitCode: 130 }));
    expect(exit.ok).toBe(true);
  });

  it.each([
    ["a shell-ish session id", { method: "exec.input", params: { session: "../../x", data: "" } }],
    ["non-base64 data", { method: "exec.input", params: { session: "x0123456789", data: "not base64!" } }],
    [
      "a chunk past the limit",
      {
        method: "exec.output",
        params: { session: "x0123456789", stream: "stdout", data: "A".repeat(EXEC_CHUNK_BYTES * 2) },
      },
    ],
    [
      "an ack past the window",
      { method: "exec.outputAck", params: { session: "x0123456789", bytes: EXEC_WINDOW_BYTES + 1 } },
    ],
    ["a zero-sized terminal", { method: "exec.resize", params: { session: "x0123456789", cols: 0, rows: 24 } }],
    ["an exit code past 255", { method: "exec.exit", params: { session: "x0123456789", exitCode: 256 } }],
  ])("rejects %s", (_name, frame) => {
    expect(parseFrame(JSON.stringify(frame))).toMatchObject({ ok: false, error: { code: "invalid_params" } });
  });

  it("rejects an exec request without a command or with extra privileges asked for", () => {
    const bad = [
      { ...start, command: [] },
      { ...start, privileged: true },
      { ...start, user: "0:0" },
    ];
    for (const params of bad)
      expect(parseFrame(JSON.stringify({ id: 1, method: "instance.exec", params }))).toMatchObject({ ok: false });
  });
});

describe("parseResult", () => {
  it("checks a result against the method's result schema", () => {
    expect(parseResult("node.register", { nodeId: "n1", heartbeatMs: 5000 }).ok).toBe(true);
    expect(parseResult("node.register", { nodeId: "../x", heartbeatMs: 5000 }).ok).toBe(false);
  });
});

describe("InstanceSpec allowlists", () => {
  const bad = (patch: Record<string, unknown>) => InstanceSpec.safeParse({ ...instance, ...patch }).success;

  it("accepts a valid instance", () => {
    expect(InstanceSpec.safeParse(instance).success).toBe(true);
  });

  it.each([
    ["privileged", { privileged: true }],
    ["hostNetwork", { hostNetwork: true }],
    ["hostPid", { hostPid: true }],
    ["mounts", { mounts: [{ source: "/", destination: "/host" }] }],
    ["devices", { devices: ["/dev/kmsg"] }],
    ["capabilities", { capabilities: ["CAP_SYS_ADMIN"] }],
    ["user", { user: "0" }],
    ["userns", { userns: "host" }],
    ["hostIpc", { hostIpc: true }],
  ])("rejects the unknown field %s", (_name, patch) => {
    expect(bad(patch)).toBe(false);
  });

  it.each([
    ["id with a slash", { id: "../etc" }],
    ["id with upper case", { id: "Web-1" }],
    ["id starting with a dash", { id: "-rf" }],
    ["id too long", { id: "a".repeat(64) }],
    ["app with a space", { app: "my app" }],
    ["no team", { team: undefined }],
    ["team with a slash", { team: "team/abcdefgh" }],
    ["team with upper case", { team: "CLX7K2M9P0000ABCD" }],
    ["team starting with a dash", { team: "-abcdefgh" }],
    ["team too long", { team: "a".repeat(64) }],
    ["team with a quote (reaches an iptables comment)", { team: 'clx7k2m9p"x' }],
    ["process type with a dot", { processType: "web.1" }],
    ["env key with a dash", { env: { "BAD-KEY": "x" } }],
    ["env key starting with a digit", { env: { "1X": "x" } }],
    ["env value with NUL", { env: { X: "a\0b" } }],
    ["command arg with NUL", { command: ["/bin/sh", "a\0"] }],
    ["empty command", { command: [] }],
    ["image with a space", { image: "shop; rm -rf /" }],
    ["image starting with a dash", { image: "--privileged" }],
    ["image with upper-case path", { image: "Shop/App" }],
    ["port 0", { port: 0 }],
    ["port too high", { port: 70000 }],
    ["tiny memory", { limits: { memoryBytes: 1024, cpuMillis: 100 } }],
    ["tiny disk", { limits: { memoryBytes: 64e6, cpuMillis: 100, diskBytes: 1024 } }],
    ["fractional disk", { limits: { memoryBytes: 64e6, cpuMillis: 100, diskBytes: 64e6 + 0.5 } }],
    ["tiny bandwidth", { limits: { memoryBytes: 64e6, cpuMillis: 100, bandwidthBitsPerSec: 1000 } }],
    ["no team", { team: undefined }],
    ["team with a slash", { team: "../team" }],
    ["team with upper case", { team: "Team" }],
    ["limits with an extra field", { limits: { memoryBytes: 64e6, cpuMillis: 100, swap: 1 } }],
    ["health path not absolute", { healthCheck: { type: "http", path: "healthz" } }],
    ["unknown restart policy", { restartPolicy: "sometimes" }],
  ])("rejects %s", (_name, patch) => {
    expect(bad(patch)).toBe(false);
  });

  it("rejects duplicate instance ids in a desired state", () => {
    expect(DesiredState.safeParse({ generation: 1, instances: [instance, instance] }).success).toBe(false);
  });
});

describe("image references", () => {
  it.each([
    "busybox",
    "localhost/berth-busybox:latest",
    "127.0.0.1:5000/shop/web:v12",
    "registry.example.com/a_b/c-d:1.0.0",
    `shop@sha256:${"a".repeat(64)}`,
    `127.0.0.1:5000/shop:v1@sha256:${"0".repeat(64)}`,
  ])("accepts %s", (ref) => expect(isValidImageRef(ref)).toBe(true));

  it.each([
    "",
    "-x",
    "a b",
    "shop:",
    "shop:v1:v2",
    "UPPER",
    "a/../b",
    "shop$(id)",
    "shop\n",
    `shop@sha256:${"a".repeat(10)}`,
  ])("rejects %j", (ref) => expect(isValidImageRef(ref)).toBe(false));
});

describe("RegisterParams", () => {
  it("accepts a node and rejects a wrong protocol version or address", () => {
    expect(RegisterParams.safeParse(register).success).toBe(true);
    expect(RegisterParams.safeParse({ ...register, protocolVersion: PROTOCOL_VERSION + 1 }).success).toBe(false);
    // v1 agents send specs without a team; the control plane refuses them rather than run them unisolated.
    expect(RegisterParams.safeParse({ ...register, protocolVersion: 1 }).success).toBe(false);
    // v2 agents know no exec sessions; a v3 control plane refuses them rather than fail every console later.
    expect(RegisterParams.safeParse({ ...register, protocolVersion: 2 }).success).toBe(false);
    // The isolation mode is part of what a node reports.
    const { userNamespaces: _, ...withoutMode } = register;
    expect(RegisterParams.safeParse(withoutMode).success).toBe(false);
    expect(RegisterParams.safeParse({ ...register, address: "example.com" }).success).toBe(false);
    expect(RegisterParams.safeParse({ ...register, cgroupVersion: 3 }).success).toBe(false);
  });
});
