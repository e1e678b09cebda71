// Volume backups with real everything (root tier): a non-root (uid 1000) app writes a file and symlinks (to
// /etc/hostname and /etc) into its volume; `volumes:backup` archives it on the node (tar by the agent, the instance
// frozen meanwhile) into the control plane's data dir (0600 in 0700); the file is deleted, `volumes:restore` brings
// it back with its owner and the symlinks as symlinks, the instance started again. A hostile archive (a symlink to a
// host directory followed by a member through it, `..` and absolute members) writes nothing outside the volume.
// Another team gets 404 on list/backup/restore; a viewer may list but not back up or restore.
import { execFileSync } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, expect, it } from "vitest";
import { BUSYBOX_WEB_DOCKERFILE } from "../helpers/busybox-app.ts";
import { describeRoot, isRoot } from "../helpers/root.ts";
import { bootRootStack, type RootStack } from "../helpers/root-stack.ts";
import { ApiClient } from "../helpers/client.ts";
import { runBerth } from "../helpers/cli.ts";

const APP = "vbkeeper";

let stack: RootStack;
let home = "";
let outside = "";
let backupId = "";
let volumeId = "";
let teamId = "";

async function until<T>(what: string, fn: () => Promise<T | undefined | null | false>, ms = 120_000): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const v = await fn();
    if (v) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 250));
  }
}

const berth = (args: string[], t = stack.token) => runBerth(args, { url: stack.srv.url, token: t, home, cwd: home });

const cgi = (body: string) => `#!/bin/sh\necho "Content-Type: text/plain"\necho ""\n${body}\n`;

/** uid 1000 writes into /data; /cgi-bin/read reports the note, its owner and the links. */
const files: Record<string, string | Buffer> = {
  Dockerfile:
    BUSYBOX_WEB_DOCKERFILE.replace(/CMD .*\n$/, "") +
    'RUN ["/bin/chmod","755","/www/cgi-bin/write","/www/cgi-bin/read","/www/cgi-bin/del"]\nUSER 1000\n' +
    'CMD ["httpd","-f","-p","5000","-h","/www"]\n',
  busybox: fs.readFileSync("/bin/busybox"),
  "www/cgi-bin/who": cgi("echo who"),
  "www/cgi-bin/write": cgi(
    "echo kept-by-backup > /data/note.txt && ln -sf /etc/hostname /data/host && ln -sfn /etc /data/etcdir && echo ok",
  ),
  "www/cgi-bin/read": cgi(
    'if [ -f /data/note.txt ]; then echo "note=$(cat /data/note.txt) owner=$(stat -c %u /data/note.txt)"; else echo "note=missing"; fi\n' +
      'echo "host=$(readlink /data/host) etcdir=$(readlink /data/etcdir) root=$(stat -c %u /data)"',
  ),
  "www/cgi-bin/del": cgi("rm -f /data/note.txt && echo deleted"),
};

const webInstances = async () =>
  (await stack.ps()).filter((i) => i.processType === "web" && i.state === "running").map((i) => i.id);

async function read(): Promise<string> {
  const r = await until("read answers", async () => {
    const x = await stack.get("/cgi-bin/read");
    return x.status === 200 && x;
  });
  return r.body;
}

describeRoot("volume backups (agent tar, real runc, user namespaces)", () => {
  beforeAll(async () => {
    if (!isRoot) return;
    home = fs.mkdtempSync(path.join(os.tmpdir(), "berth-vb-home-"));
    outside = fs.mkdtempSync(path.join(os.tmpdir(), "berth-vb-outside-"));
    stack = await bootRootStack(APP, files, { email: "vbkeeper@example.com", node: "vbkeeper-node" });
    const created = await stack.owner.req("POST", `/api/v1/apps/${APP}/volumes`, {
      name: "data",
      processType: "web",
      mountPath: "/data",
      sizeMb: 64,
    });
    expect(created.status, JSON.stringify(created.body)).toBe(201);
    const push = await stack.push();
    expect(push.code, push.out).toBe(0);
    await stack.running("web", 1, 1);
    const db = stack.srv.cp.services.db;
    const vol = await db.volume.findFirstOrThrow({
      where: { name: "data", app: { name: APP } },
      include: { app: true },
    });
    volumeId = vol.id;
    teamId = vol.app.teamId;
  }, 600_000);

  afterAll(async () => {
    if (!stack) return;
    const problems: string[] = [];
    await stack.owner.req("PATCH", `/api/v1/apps/${APP}/formation`, { updates: [{ type: "web", quantity: 0 }] });
    await until("containers gone", async () => (await stack.inspector.list()).length === 0, 60_000).catch(
      (e: unknown) => problems.push(String(e)),
    );
    await until(
      "volume destroyed",
      async () => (await stack.owner.req("DELETE", `/api/v1/apps/${APP}/volumes/data`)).status === 204,
      30_000,
    ).catch((e: unknown) => problems.push(String(e)));
    // Its backups went with it.
    if (fs.existsSync(path.join(stack.srv.dataDir, "volume-backups", teamId, volumeId)))
      problems.push("the destroyed volume's backups are still on disk");
    problems.push(...(await stack.close()));
    fs.rmSync(home, { recursive: true, force: true });
    fs.rmSync(outside, { recursive: true, force: true });
    expect(problems).toEqual([]);
  }, 180_000);

  it("backs up, deletes, restores: the file is back with its owner, the symlinks stay symlinks", async () => {
    expect((await stack.get("/cgi-bin/write")).body).toContain("ok");
    const before = await read();
    expect(before).toContain("note=kept-by-backup owner=1000");
    expect(before).toContain("host=/etc/hostname etcdir=/etc root=1000");
    const [web] = await webInstances();

    const out = await berth(["volumes:backup", "data", "-a", APP]);
    expect(out.code, out.stderr).toBe(0);
    backupId = /(vb-[0-9a-f]{16})/.exec(out.stdout)?.[1] ?? "";
    expect(backupId).not.toBe("");
    expect(out.stdout).toContain("is complete");
    // Frozen, not restarted: the same instance serves.
    expect(await webInstances()).toEqual([web]);

    // In the control plane's data dir, private to it; a tar whose links are links, owners numeric and shifted.
    const file = path.join(stack.srv.dataDir, "volume-backups", teamId, volumeId, `${backupId}.tar`);
    expect(fs.statSync(file).mode & 0o777).toBe(0o600);
    expect(fs.statSync(path.dirname(file)).mode & 0o777).toBe(0o700);
    const listing = execFileSync("tar", ["-tvf", file, "--numeric-owner"], { encoding: "utf8" });
    expect(listing).toMatch(/^l.* \.\/host -> \/etc\/hostname$/m);
    expect(listing).toMatch(/^l.* \.\/etcdir -> \/etc$/m);
    expect(listing).toMatch(/^-rw.* \d+\/\d+ .* \.\/note\.txt$/m);
    expect(listing).not.toContain("localhost"); // /etc/hostname's contents were not followed in

    const list = await berth(["volumes:backups", "data", "-a", APP]);
    expect(list.code, list.stderr).toBe(0);
    expect(list.stdout).toContain(backupId);
    expect(list.stdout).toContain("completed");

    expect((await stack.get("/cgi-bin/del")).body).toContain("deleted");
    expect(await read()).toContain("note=missing");

    const refused = await berth(["volumes:restore", backupId, "-a", APP]);
    expect(refused.code).not.toBe(0);
    expect(refused.stderr).toContain("--confirm");

    const hostnameBefore = fs.readFileSync("/etc/hostname", "utf8");
    const restored = await berth(["volumes:restore", backupId, "-a", APP, "--confirm", APP]);
    expect(restored.code, restored.stderr).toBe(0);
    expect(restored.stdout).toContain("Restored volume data");
    // Started again: a new instance, on the restored files.
    await until("a new web instance", async () => {
      const ids = await webInstances();
      return ids.length === 1 && ids[0] !== web && ids;
    });
    const after = await read();
    expect(after).toContain("note=kept-by-backup owner=1000");
    expect(after).toContain("host=/etc/hostname etcdir=/etc root=1000");
    expect(fs.readFileSync("/etc/hostname", "utf8")).toBe(hostnameBefore);

    const audit = await stack.srv.cp.services.db.auditEvent.findMany({
      where: { action: { startsWith: "volume.backup." } },
    });
    expect(new Set(audit.map((a) => a.action))).toEqual(new Set(["volume.backup.capture", "volume.backup.restore"]));
  }, 600_000);

  it("a hostile archive writes nothing outside the volume, and a failed restore keeps the files", async () => {
    // A symlink to a host directory, then a member through it; `..` members; an absolute member.
    const evil = path.join(home, "evil.tar");
    const script = [
      "import io, sys, tarfile",
      "t = tarfile.open(sys.argv[1], 'w')",
      "def f(name, data=b'pwned'):",
      "    i = tarfile.TarInfo(name); i.size = len(data); t.addfile(i, io.BytesIO(data))",
      "d = tarfile.TarInfo('.'); d.type = tarfile.DIRTYPE; d.mode = 0o755; d.uid = 0; t.addfile(d)",
      "l = tarfile.TarInfo('./out'); l.type = tarfile.SYMTYPE; l.linkname = sys.argv[2]; t.addfile(l)",
      "f('./out/pwned')",
      "f('../../escape')",
      "f(sys.argv[2] + '/absolute')",
      "h = tarfile.TarInfo('./hard'); h.type = tarfile.LNKTYPE; h.linkname = sys.argv[2] + '/target'; t.addfile(h)",
      "t.close()",
    ].join("\n");
    fs.writeFileSync(path.join(outside, "target"), "host file");
    execFileSync("python3", ["-c", script, evil, outside]);
    // Put it in place of a completed backup's file (what a tampered data dir would hold).
    const file = path.join(stack.srv.dataDir, "volume-backups", teamId, volumeId, `${backupId}.tar`);
    const good = `${file}.good`;
    fs.renameSync(file, good);
    fs.copyFileSync(evil, file);
    const web = await webInstances();
    const r = await stack.owner.req<{ error?: { message: string } }>(
      "POST",
      `/api/v1/apps/${APP}/volume-backups/${backupId}/restore`,
      { confirm: APP },
    );
    fs.renameSync(good, file);
    expect(fs.readdirSync(outside).sort()).toEqual(["target"]);
    expect(fs.readFileSync(path.join(outside, "target"), "utf8")).toBe("host file");
    const volDir = path.join(stack.inspector.volumeStore.root, volumeId);
    expect(fs.existsSync(path.join(volDir, "escape"))).toBe(false);
    expect(fs.existsSync(path.join(stack.inspector.volumeStore.root, "escape"))).toBe(false);
    // Refused: GNU tar skips the `..` member and cannot write through the link (its target is a placeholder file
    // until the end), and exits 2; the swap never happens, the old files are kept and the instance just thaws.
    expect(r.status, JSON.stringify(r.body)).toBe(503);
    expect(r.body.error?.message).toContain("tar exited with 2");
    expect(await webInstances()).toEqual(web);
    expect(await read()).toContain("note=kept-by-backup owner=1000");
    expect(fs.readdirSync(path.join(volDir, "data")).filter((n) => n.startsWith(".berth-restore-"))).toEqual([]);
    // The real backup restores again.
    const again = await stack.owner.req("POST", `/api/v1/apps/${APP}/volume-backups/${backupId}/restore`, {
      confirm: APP,
    });
    expect(again.status, JSON.stringify(again.body)).toBe(200);
    await until("note back", async () => (await read()).includes("note=kept-by-backup owner=1000"));
  }, 300_000);

  it("another team gets 404 on list, backup and restore; a viewer may list but not back up or restore", async () => {
    const { srv, owner } = stack;
    const team = (await owner.req<{ team: string }>("GET", `/api/v1/apps/${APP}`)).body.team;
    const viewer = new ApiClient(srv.url);
    await viewer.signUp("vb-viewer@example.com");
    expect(
      (await owner.req("POST", `/api/v1/teams/${team}/members`, { email: "vb-viewer@example.com", role: "viewer" }))
        .status,
    ).toBe(201);
    const outsider = new ApiClient(srv.url);
    await outsider.signUp("vb-outsider@example.com");
    expect((await outsider.req("POST", "/api/v1/apps", { name: "vb-outsider" })).status).toBe(201);
    const before = await srv.cp.services.db.volumeBackup.count();
    const routes = (app: string) =>
      [
        ["GET", `/api/v1/apps/${app}/volumes/data/backups`, undefined],
        ["POST", `/api/v1/apps/${app}/volumes/data/backups`, undefined],
        ["GET", `/api/v1/apps/${app}/volume-backups/${backupId}`, undefined],
        ["GET", `/api/v1/apps/${app}/volume-backups/${backupId}/download`, undefined],
        ["POST", `/api/v1/apps/${app}/volume-backups/${backupId}/restore`, { confirm: app }],
      ] as const;
    for (const [method, p, body] of [...routes(APP), ...routes("vb-outsider")])
      expect((await outsider.req(method, p, body)).status, `${method} ${p}`).toBe(404);
    const [list, cap, info, dl, rest] = routes(APP);
    expect((await viewer.req(list[0], list[1])).status).toBe(200);
    expect((await viewer.req(info[0], info[1])).status).toBe(200);
    for (const [method, p, body] of [cap, dl, rest])
      expect((await viewer.req(method, p, body)).status, `${method} ${p}`).toBe(403);
    const viewerToken = (await viewer.tokenClient("v")).token;
    const denied = await berth(["volumes:backup", "data", "-a", APP], viewerToken);
    expect(denied.code).toBe(1);
    expect(denied.stderr).toContain("does not allow");
    // Odd ids are 404 and read nothing.
    for (const id of ["..%2F..%2Fberth.db", "vb-../x", "bk-0123456789abcdef"])
      expect([404, 422]).toContain((await owner.req("GET", `/api/v1/apps/${APP}/volume-backups/${id}`)).status);
    expect(await srv.cp.services.db.volumeBackup.count()).toBe(before);
    await outsider.req("DELETE", "/api/v1/apps/vb-outsider");
  }, 120_000);
});
