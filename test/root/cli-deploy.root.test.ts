// The real `berth` CLI around a real build (root tier: buildah, skopeo, platform registry): git:remote + git push,
// then releases, builds, builds:info and deploy --image of the built image into another app.
import { execFile } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, expect, it } from "vitest";
import { startTestServer, type TestServer } from "../helpers/server.ts";
import { ApiClient } from "../helpers/client.ts";
import { git, makeRepo } from "../helpers/git.ts";
import { describeRoot, isRoot } from "../helpers/root.ts";

const ROOT = fileURLToPath(new URL("../..", import.meta.url));
const BIN = path.join(ROOT, "bin/berth.mjs");
const BUSYBOX = "/bin/busybox";
// The second RUN writes colour and window-title escape sequences into the build output on purpose.
const DOCKERFILE =
  'FROM scratch\nCOPY busybox /bin/busybox\nRUN ["/bin/busybox","--install","-s","/bin"]\n' +
  'RUN ["/bin/sh","-c","printf \'\\\\033]0;pwned\\\\007\\\\033[31mred-alert\\\\033[0m\\\\n\'"]\n' +
  'CMD ["httpd","-f","-p","5000"]\n';

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

let srv: TestServer;
let owner: ApiClient;
let token = "";
let tmp = "";
const dirs: string[] = [];

/** Runs `berth ARGS` with a token for this test's server; never throws on a non-zero exit. */
function berth(args: string[], opts: { cwd?: string } = {}): Promise<Run> {
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    BERTH_URL: srv.url,
    BERTH_TOKEN: token,
    XDG_CONFIG_HOME: path.join(tmp, "config"),
  };
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      [BIN, ...args],
      { cwd: opts.cwd ?? ROOT, env, timeout: 120_000, maxBuffer: 20 * 1024 * 1024 },
      (err, stdout, stderr) => {
        const code = err ? (typeof err.code === "number" ? err.code : -1) : 0;
        resolve({ code, stdout, stderr });
      },
    );
  });
}

describeRoot("berth CLI with real builds: git:remote, releases, builds, deploy --image", () => {
  let repo = "";
  let image = "";

  beforeAll(async () => {
    if (!isRoot) return;
    srv = await startTestServer({}, { registry: true });
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), "berth-cli-deploy-"));
    owner = new ApiClient(srv.url);
    await owner.signUp("cli-deployer@example.com");
    token = (await owner.tokenClient("cli")).token;
  });
  afterAll(async () => {
    for (const d of dirs) fs.rmSync(d, { recursive: true, force: true });
    if (tmp) fs.rmSync(tmp, { recursive: true, force: true });
    await srv?.close();
  });

  it("apps:create + git:remote + git push berth main (the CLI's login via its credential helper) builds v1", async () => {
    const created = await berth(["apps:create", "cli-dock"]);
    expect(created.code, created.stderr).toBe(0);
    repo = await makeRepo({ Dockerfile: DOCKERFILE, busybox: fs.readFileSync(BUSYBOX) });
    dirs.push(repo);
    const remote = await berth(["git:remote", "-a", "cli-dock"], { cwd: repo });
    expect(remote.code, remote.stderr).toBe(0);
    expect(remote.stdout).toContain("git push berth main");

    // git:remote set a credential helper: git push gets the CLI's token without asking.
    expect(remote.stdout).toContain("git uses your berth login");
    const push = await git(repo, ["push", "berth", "main"], { BERTH_URL: srv.url, BERTH_TOKEN: token });
    expect(push.code, push.out).toBe(0);
    expect(push.out).toMatch(/remote: -----> Released v1/);
  });

  it("releases lists v1 (as JSON and as a table), also without -a inside the repository", async () => {
    const j = await berth(["releases", "-a", "cli-dock", "--json"]);
    expect(j.code, j.stderr).toBe(0);
    const releases = JSON.parse(j.stdout);
    expect(releases).toHaveLength(1);
    expect(releases[0]).toMatchObject({ version: 1, name: "v1", createdBy: "cli-deployer@example.com" });
    image = releases[0].image;
    expect(image).toMatch(/^cli-dock@sha256:[0-9a-f]{64}$/);

    const table = await berth(["releases"], { cwd: repo });
    expect(table.code, table.stderr).toBe(0);
    const [header, ...rows] = table.stdout.trim().split("\n");
    expect(header).toMatch(/^VERSION +STATUS +DESCRIPTION +CREATED BY +AGE$/);
    expect(rows).toHaveLength(1);
    expect(rows[0]).toMatch(/^v1 +\S+ +.+ cli-deployer@example\.com +\d+[smhd]$/);

    const info = await berth(["releases:info", "v1", "-a", "cli-dock"]);
    expect(info.code, info.stderr).toBe(0);
    expect(info.stdout).toMatch(new RegExp(`^Image: +${image.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")}$`, "m"));
    expect(info.stdout).toMatch(/^web +\(the image's CMD\/ENTRYPOINT\)$/m);
    expect(info.stdout).toMatch(/^Config keys: +-$/m);
  });

  it("builds shows the succeeded build; builds:info shows it with its output, escape codes stripped", async () => {
    const table = await berth(["builds", "-a", "cli-dock"]);
    expect(table.code, table.stderr).toBe(0);
    const [header, ...rows] = table.stdout.trim().split("\n");
    expect(header).toMatch(/^ID +STATUS +BRANCH +COMMIT +AGE +DURATION$/);
    expect(rows).toHaveLength(1);
    expect(rows[0]).toMatch(/^[a-z0-9]{20,32} +succeeded +main +[0-9a-f]{7} +\S+ +\S+$/);
    const id = JSON.parse((await berth(["builds", "-a", "cli-dock", "--json"])).stdout)[0].id as string;

    // The stored output really carries the escape sequences; the CLI must not pass them to the terminal.
    const raw = await owner.req<any>("GET", `/api/v1/apps/cli-dock/builds/${id}`);
    expect(raw.body.output).toContain("\u001b[31mred-alert");

    const info = await berth(["builds:info", id, "-a", "cli-dock"]);
    expect(info.code, info.stderr).toBe(0);
    expect(info.stdout).toMatch(/^Status: +succeeded$/m);
    expect(info.stdout).toMatch(/^Image: +cli-dock@sha256:/m);
    expect(info.stdout).toContain("Output:\n");
    expect(info.stdout).toContain("STEP 5/5");
    // The title sequence (ESC ] 0;pwned BEL) and the colours are gone, the text stays on its indented line.
    expect(info.stdout).toMatch(/^ +red-alert$/m);
    expect(info.stdout).not.toMatch(/[\u0000-\u0009\u000b-\u001f\u007f-\u009f]/);

    const j = await berth(["builds:info", id, "-a", "cli-dock", "--json"]);
    expect(JSON.parse(j.stdout)).toMatchObject({ id, status: "succeeded", output: raw.body.output });
  });

  it("deploy --image APP@sha256:... -a OTHER creates v1 of the other app", async () => {
    expect((await owner.req("POST", "/api/v1/apps", { name: "cli-other" })).status).toBe(201);
    const digest = image.split("@")[1]!;
    const r = await berth(["deploy", "--image", image, "-a", "cli-other"]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/^Released v1 of cli-other\.$/m);
    expect(r.stdout).toMatch(new RegExp(`^Digest: +${digest}$`, "m"));
    expect(r.stdout).toContain(`cli-other@${digest}`);

    const releases = JSON.parse((await berth(["releases", "-a", "cli-other", "--json"])).stdout);
    expect(releases).toHaveLength(1);
    expect(releases[0]).toMatchObject({
      version: 1,
      image: `cli-other@${digest}`,
      description: `Deploy image ${image}`,
    });

    const again = await berth(["deploy", "--image", image, "-a", "cli-other", "--json"]);
    expect(again.code, again.stderr).toBe(0);
    expect(JSON.parse(again.stdout)).toMatchObject({ version: 2, name: "v2" });
  });
});
