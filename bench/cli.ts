// Benchmark: how fast the `berth` CLI starts, side by side with `node -e 0` in the same run.
// Starts its own control plane (server/main.ts with its own data dir, a random port, no dashboard, registry, router,
// agent or scheduler), signs in with `berth login`, then runs each case N times, round robin so that load changes
// on a shared machine hit every case alike, and prints the median and p90 wall time, the mean CPU time (user+sys of
// the child, from /proc/self/stat) and the ratio to `node -e 0`. The last row runs the TypeScript sources through
// tsx, which is what every call cost before the bundle. Target (docs/benchmarks.md): `berth --version` and
// `berth whoami` <= 300 ms median wall time.
// Run: npx tsx bench/cli.ts [runs=21]
import { spawn, spawnSync } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";

const RUNS = Number(process.argv[2] ?? 21);
const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const BIN = path.join(ROOT, "bin", "berth.mjs");
const EMAIL = "bench@example.com";
const PASSWORD = "bench-password-123";

/** User + system CPU time of waited-for children, in ms (fields cutime, cstime of /proc/self/stat). */
function childCpuMs(): number {
  const stat = fs.readFileSync("/proc/self/stat", "utf8");
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  const ticks = Number(fields[13]) + Number(fields[14]);
  return (ticks * 1000) / 100; // USER_HZ is 100 on Linux
}

/** Starts the control plane and resolves with its URL once it listens. */
function startServer(dataDir: string): Promise<{ url: string; stop: () => Promise<void> }> {
  const child = spawn(process.execPath, ["--import", "tsx", path.join(ROOT, "server", "main.ts")], {
    cwd: ROOT,
    env: {
      ...process.env,
      NODE_ENV: "production",
      HOST: "127.0.0.1",
      PORT: "0",
      BERTH_DATA_DIR: dataDir,
      BERTH_ROUTER_PORT: "0",
      BERTH_LOG_LEVEL: "info",
      BERTH_NO_DASHBOARD: "1",
      BERTH_NO_REGISTRY: "1",
      BERTH_NO_ROUTER: "1",
      BERTH_NO_AGENT: "1",
      BERTH_SCHEDULER: "off",
      BERTH_ADMIN_EMAIL: EMAIL,
      BERTH_ADMIN_PASSWORD: PASSWORD,
    },
    stdio: ["ignore", "pipe", "inherit"],
  });
  const stop = () =>
    new Promise<void>((resolve) => {
      if (child.exitCode !== null) return resolve();
      child.once("exit", () => resolve());
      child.kill("SIGTERM");
    });
  return new Promise((resolve, reject) => {
    let buf = "";
    child.stdout.on("data", (chunk: Buffer) => {
      buf += chunk.toString();
      for (const line of buf.split("\n")) {
        const m = /"port":(\d+).*"msg":"control plane listening"/.exec(line);
        if (m) {
          child.stdout.removeAllListeners("data");
          child.stdout.resume();
          resolve({ url: `http://127.0.0.1:${m[1]}`, stop });
          return;
        }
      }
    });
    child.once("exit", (code) => reject(new Error(`control plane exited with ${code} before listening`)));
  });
}

interface Case {
  name: string;
  args: string[];
  wall: number[];
  cpu: number;
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? NaN;
const p90 = (xs: number[]) =>
  [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.ceil(xs.length * 0.9) - 1)] ?? NaN;

async function main(): Promise<void> {
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "berth-bench-cli-"));
  const server = await startServer(path.join(tmp, "data"));
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    BERTH_URL: server.url,
    XDG_CONFIG_HOME: path.join(tmp, "config"),
    HOME: tmp,
  };
  delete env.BERTH_TOKEN;
  try {
    // Builds the bundle if the sources changed, and saves a login like a user's.
    const login = spawnSync(process.execPath, [BIN, "login", "--email", EMAIL, "--password", PASSWORD], {
      env,
      encoding: "utf8",
    });
    if (login.status !== 0) throw new Error(`berth login failed: ${login.stderr}`);
    const cases: Case[] = [
      { name: "node -e 0", args: ["-e", "0"], wall: [], cpu: 0 },
      { name: "berth --version", args: [BIN, "--version"], wall: [], cpu: 0 },
      { name: "berth whoami", args: [BIN, "whoami"], wall: [], cpu: 0 },
      { name: "berth apps --json", args: [BIN, "apps", "--json"], wall: [], cpu: 0 },
      {
        name: "sources via tsx: --version (before)",
        args: ["--import", "tsx", path.join(ROOT, "cli", "main.ts"), "--version"],
        wall: [],
        cpu: 0,
      },
    ];
    const load = os
      .loadavg()
      .map((x) => x.toFixed(2))
      .join(" ");
    process.stderr.write(`${RUNS} runs of each case, round robin, against ${server.url}\n`);
    for (let i = 0; i < RUNS + 1; i++) {
      for (const c of cases) {
        const cpu0 = childCpuMs();
        const t0 = performance.now();
        const r = spawnSync(process.execPath, c.args, { env, cwd: ROOT, encoding: "utf8" });
        const wall = performance.now() - t0;
        if (r.status !== 0) throw new Error(`${c.name} failed: ${r.stderr}`);
        if (i === 0) continue; // warm-up: page cache, and the tsx compile cache for the last case
        c.wall.push(wall);
        c.cpu += childCpuMs() - cpu0;
      }
    }
    const base = median(cases[0]?.wall ?? []);
    const rows = cases.map((c) => {
      const m = median(c.wall);
      return `| ${c.name} | ${m.toFixed(0)} | ${p90(c.wall).toFixed(0)} | ${(c.cpu / c.wall.length).toFixed(0)} | ${(m / base).toFixed(2)} |`;
    });
    process.stdout.write(
      [
        `CLI start-up, ${new Date().toISOString()}, node ${process.version}, ${os.cpus().length} CPUs (${os.cpus()[0]?.model ?? "?"}), load average ${load} at start, ${os
          .loadavg()
          .map((x) => x.toFixed(2))
          .join(" ")} at end`,
        "",
        "| case | median ms | p90 ms | CPU ms (mean) | vs node -e 0 |",
        "|---|---|---|---|---|",
        ...rows,
        "",
      ].join("\n"),
    );
  } finally {
    await server.stop();
    fs.rmSync(tmp, { recursive: true, force: true });
  }
}

await main();
