// The argv buildah gets: no registry password (an auth file instead), the signature policy and the namespace wrapper
// for Dockerfile builds. spawn is replaced by a recorder that plays a successful buildah.
import { EventEmitter } from "node:events";
import fs from "node:fs";
import { beforeEach, describe, expect, it, vi } from "vitest";

interface Spawned {
  command: string;
  args: string[];
  authFile?: string;
}
const spawned: Spawned[] = [];

vi.mock("node:child_process", async (importOriginal) => {
  const orig = await importOriginal<typeof import("node:child_process")>();
  return {
    ...orig,
    spawn: (command: string, args: string[]) => {
      const rec: Spawned = { command, args: [...args] };
      // What buildah would read while it runs: the auth file, and it writes the digest file.
      const a = args.indexOf("--authfile");
      if (a >= 0 && fs.existsSync(args[a + 1]!)) rec.authFile = fs.readFileSync(args[a + 1]!, "utf8");
      const d = args.indexOf("--digestfile");
      if (d >= 0) fs.writeFileSync(args[d + 1]!, `sha256:${"a".repeat(64)}`);
      spawned.push(rec);
      const child = Object.assign(new EventEmitter(), {
        stdout: new EventEmitter(),
        stderr: new EventEmitter(),
        kill: () => true,
      });
      setImmediate(() => child.emit("close", 0));
      return child;
    },
  };
});

const { buildDockerfile, buildSourcePolicy, pushImage } = await import("./buildah.ts");

const storage = { root: "/data/builder/apps/a1/storage", runRoot: "/data/builder/apps/a1/run" };
const login = { host: "127.0.0.1:5000", username: "berth", password: "registry-password-123" };

beforeEach(() => {
  spawned.length = 0;
});

describe("pushImage", () => {
  it("passes the credentials in an auth file, never in argv, and removes the file", async () => {
    const digest = await pushImage(storage, "berth-build/app:latest", "app:build-1", login, () => undefined);
    expect(digest).toBe(`sha256:${"a".repeat(64)}`);
    expect(spawned).toHaveLength(1);
    const [p] = spawned;
    expect(p!.command).toBe("buildah");
    expect(p!.args.join(" ")).not.toContain(login.password);
    expect(p!.args).not.toContain("--creds");
    expect(p!.args.slice(-3)).toEqual(["--", "berth-build/app:latest", "docker://127.0.0.1:5000/app:build-1"]);
    const auth = JSON.parse(p!.authFile!) as { auths: Record<string, { auth: string }> };
    expect(Buffer.from(auth.auths[login.host]!.auth, "base64").toString()).toBe(`berth:${login.password}`);
    expect(fs.existsSync(p!.args[p!.args.indexOf("--authfile") + 1]!)).toBe(false);
  });
});

describe("buildDockerfile", () => {
  it("runs buildah through the namespace wrapper with the signature policy and offline steps", async () => {
    await buildDockerfile(
      storage,
      {
        context: "/tmp/w/src",
        dockerfile: "/tmp/w/Dockerfile",
        authFile: "/tmp/w/auth.json",
        policyFile: "/tmp/w/policy.json",
        tag: "berth-build/app:latest",
        buildArgs: {},
        limits: { timeoutMs: 60_000, memory: "1g" },
        wrap: (cmd, args) => ["nsenter", ["--net=/var/run/netns/bbx-1", "--", cmd, ...args]],
      },
      () => undefined,
    );
    const [p] = spawned;
    expect(p!.command).toBe("nsenter");
    expect(p!.args.slice(0, 3)).toEqual(["--net=/var/run/netns/bbx-1", "--", "buildah"]);
    const at = (flag: string) => p!.args[p!.args.indexOf(flag) + 1];
    expect(at("--signature-policy")).toBe("/tmp/w/policy.json");
    expect(at("--network")).toBe("none");
    expect(at("--authfile")).toBe("/tmp/w/auth.json");
  });
});

describe("buildSourcePolicy", () => {
  it("accepts registries and the app's own store, rejects every other source", () => {
    expect(JSON.parse(buildSourcePolicy(storage.root))).toEqual({
      default: [{ type: "reject" }],
      transports: {
        docker: { "": [{ type: "insecureAcceptAnything" }] },
        "containers-storage": { "[overlay@/data/builder/apps/a1/storage]": [{ type: "insecureAcceptAnything" }] },
      },
    });
  });
});
