// Benchmark: git push -> release for a small Dockerfile app (cold, warm, no-change), side by side with the
// raw tools doing the same work (buildah bud + buildah push) in the same run. Needs root (buildah).
// Run: npx tsx bench/git-push.ts [runs]   Results go to stdout; copy them into docs/benchmarks.md.
import { execFile, execFileSync } from "node:child_process";
import { promisify } from "node:util";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { loadConfig } from "../server/config.ts";
import { createLogger } from "../server/logger.ts";
import { migrateDatabase } from "../server/db/migrate.ts";
import { createControlPlane } from "../server/control-plane.ts";
import { withAuthFile } from "../server/registry/auth-file.ts";

const runs = Number(process.argv[2] ?? 5);
const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), "berth-bench-push-"));
const src = fs.mkdtempSync(path.join(os.tmpdir(), "berth-bench-src-"));
const storage = [
  "--root",
  path.join(dataDir, "raw", "storage"),
  "--runroot",
  path.join(dataDir, "raw", "run"),
  "--storage-driver",
  "overlay",
];

const run = promisify(execFile);
// Asynchronous on purpose: the control plane runs in this process and must keep serving during a push.
async function sh(cmd: string, args: string[], cwd = src): Promise<string> {
  return (await run(cmd, args, { cwd, env: { ...process.env, GIT_TERMINAL_PROMPT: "0" }, maxBuffer: 64 << 20 })).stdout;
}
async function time(fn: () => Promise<unknown>): Promise<number> {
  const t = performance.now();
  await fn();
  return performance.now() - t;
}
function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)] ?? NaN;
}

async function main() {
  if (process.getuid?.() !== 0) throw new Error("run as root (buildah)");
  const config = loadConfig({ BERTH_DATA_DIR: dataDir, PORT: "0", HOST: "127.0.0.1", BERTH_LOG_LEVEL: "warn" });
  await migrateDatabase(config.databaseUrl);
  const cp = await createControlPlane({ config, log: createLogger("warn"), dashboard: false, registry: true });
  const port = await cp.listen();
  const base = `http://127.0.0.1:${port}`;
  const post = async (p: string, body: unknown, headers: Record<string, string>) =>
    (
      await fetch(base + p, {
        method: "POST",
        headers: { "content-type": "application/json", ...headers },
        body: JSON.stringify(body),
      })
    ).json() as Promise<{ token?: string }>;
  const signup = await fetch(`${base}/api/v1/auth/signup`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ email: "bench@example.com", password: "bench-password-1" }),
  });
  const cookie = (signup.headers.get("set-cookie") ?? "").split(";")[0] ?? "";
  const csrf = ((await signup.json()) as { csrfToken: string }).csrfToken;
  const token = (await post("/api/v1/tokens", { name: "bench" }, { cookie, "x-csrf-token": csrf })).token ?? "";
  await post("/api/v1/apps", { name: "bench-app" }, { authorization: `Bearer ${token}` });
  const remote = `http://berth:${token}@127.0.0.1:${port}/git/bench-app.git`;

  fs.copyFileSync("/bin/busybox", path.join(src, "busybox"));
  fs.writeFileSync(
    path.join(src, "Dockerfile"),
    'FROM scratch\nCOPY busybox /bin/busybox\nRUN ["/bin/busybox","--install","-s","/bin"]\nCOPY app.txt /app.txt\nCMD ["httpd","-f","-p","5000"]\n',
  );
  fs.writeFileSync(path.join(src, "app.txt"), "0");
  await sh("git", ["init", "-q", "-b", "main"]);
  await sh("git", ["add", "-A"]);
  await sh("git", ["-c", "user.name=b", "-c", "user.email=b@b", "commit", "-qm", "0"]);

  const reg = cp.registry();
  const rawBuild = async (tag: string) => {
    await sh("buildah", [
      ...storage,
      "bud",
      "--runtime",
      "/usr/sbin/runc",
      "--isolation",
      "oci",
      "--layers",
      "--network",
      "none",
      "-q",
      "-t",
      tag,
      "--",
      src,
    ]);
    await withAuthFile([reg], (authFile) =>
      sh("buildah", [
        ...storage,
        "push",
        "-q",
        "--tls-verify=false",
        "--authfile",
        authFile,
        "--",
        tag,
        `docker://${reg.host}/raw:${Date.now()}`,
      ]),
    );
  };

  const rows: Record<string, { berth: number[]; raw: number[] }> = {
    cold: { berth: [], raw: [] },
    warm: { berth: [], raw: [] },
    "no-change": { berth: [], raw: [] },
  };
  rows.cold!.berth.push(await time(() => sh("git", ["push", "-q", remote, "main"])));
  rows.cold!.raw.push(await time(() => rawBuild("raw:cold")));
  for (let i = 1; i <= runs; i++) {
    fs.writeFileSync(path.join(src, "app.txt"), String(i));
    await sh("git", ["-c", "user.name=b", "-c", "user.email=b@b", "commit", "-qam", String(i)]);
    rows.warm!.berth.push(await time(() => sh("git", ["push", "-q", remote, "main"])));
    rows.warm!.raw.push(await time(() => rawBuild(`raw:w${i}`)));
    await sh("git", ["-c", "user.name=b", "-c", "user.email=b@b", "commit", "-q", "--allow-empty", "-m", `empty ${i}`]);
    rows["no-change"]!.berth.push(await time(() => sh("git", ["push", "-q", remote, "main"])));
    rows["no-change"]!.raw.push(await time(() => rawBuild(`raw:n${i}`)));
  }
  const targets: Record<string, number> = { warm: 5000, "no-change": 3000 };
  process.stdout.write(`git push -> release, small Dockerfile app, ${runs} runs, ${os.cpus().length} cores\n`);
  process.stdout.write(
    "| case | berth push (median ms) | raw buildah bud+push (median ms) | ratio | target |\n|---|---|---|---|---|\n",
  );
  for (const [name, r] of Object.entries(rows)) {
    const b = median(r.berth);
    const w = median(r.raw);
    const t = targets[name];
    process.stdout.write(
      `| ${name} | ${b.toFixed(0)} | ${w.toFixed(0)} | ${(b / w).toFixed(2)} | ${t ? `<= ${t} ms: ${b <= t ? "met" : "MISSED"}` : "-"} |\n`,
    );
  }
  await cp.close();
  execFileSync("buildah", [...storage, "rmi", "--all", "--force"], { stdio: "ignore" });
  const builder = [
    "--root",
    path.join(dataDir, "builder", "storage"),
    "--runroot",
    path.join(dataDir, "builder", "run"),
    "--storage-driver",
    "overlay",
  ];
  execFileSync("buildah", [...builder, "rmi", "--all", "--force"], { stdio: "ignore" });
  fs.rmSync(dataDir, { recursive: true, force: true });
  fs.rmSync(src, { recursive: true, force: true });
}

main().catch((err: unknown) => {
  process.stderr.write(`${err instanceof Error ? err.stack : String(err)}\n`);
  process.exit(1);
});
