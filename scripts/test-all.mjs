#!/usr/bin/env node
// `npm test`: every tier in one command. Static checks (types, lint, import cycles) count as one test each;
// then vitest (unit, integration, root) and Playwright (e2e). The last line is "N passed, N failed".
import { spawnSync } from "node:child_process";
import fs from "node:fs";
import net from "node:net";
import os from "node:os";
import path from "node:path";
import { buildDashboard, generatePrismaClient, root } from "./prepare.mjs";

const only = process.argv.slice(2); // e.g. `npm test -- unit integration`
const want = (step) => only.length === 0 || only.includes(step);
const bin = (name) => path.join(root, "node_modules", ".bin", name);
const outDir = fs.mkdtempSync(path.join(os.tmpdir(), "berth-test-results-"));
let passed = 0;
let failed = 0;
const failures = [];

function run(cmd, args, env = {}) {
  process.stdout.write(`\n== ${path.basename(cmd)} ${args.join(" ")}\n`);
  const r = spawnSync(cmd, args, { cwd: root, stdio: "inherit", env: { ...process.env, ...env } });
  return r.status === 0;
}

function check(name, ok) {
  if (ok) passed++;
  else {
    failed++;
    failures.push(name);
  }
}

function freePort() {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.listen(0, "127.0.0.1", () => {
      const addr = srv.address();
      srv.close(() => resolve(addr.port));
    });
    srv.on("error", reject);
  });
}

generatePrismaClient();

if (want("static")) {
  check("typecheck", run(bin("tsc"), ["--noEmit", "-p", "."]));
  check("lint", run(bin("eslint"), ["--max-warnings=0", "."]));
  check("import cycles", run(bin("dpdm"), ["--no-warning", "--no-tree", "--exit-code", "circular:1", "-T", "server/main.ts", "runtime-agent/main.ts", "cli/main.ts"]));
}

for (const tier of ["unit", "integration", "root"]) {
  if (!want(tier)) continue;
  const out = path.join(outDir, `${tier}.json`);
  const ok = run(bin("vitest"), ["run", "--project", tier, "--reporter=default", "--reporter=json", `--outputFile.json=${out}`, "--passWithNoTests"]);
  if (fs.existsSync(out)) {
    const r = JSON.parse(fs.readFileSync(out, "utf8"));
    passed += r.numPassedTests;
    failed += r.numFailedTests;
    const brokenFiles = (r.testResults ?? []).filter((f) => f.status === "failed" && f.assertionResults.length === 0).length;
    failed += brokenFiles;
    if (r.numFailedTests > 0 || brokenFiles > 0) failures.push(`${tier} tests`);
    if (!ok && r.numFailedTests === 0 && brokenFiles === 0) check(`${tier} run`, false);
  } else {
    check(`${tier} run`, false);
  }
}

if (want("e2e")) {
  buildDashboard();
  const out = path.join(outDir, "e2e.json");
  const port = await freePort();
  // The loopback DNS server e2e/domains.spec.ts runs for domain verification (the platform is told at start).
  const dnsPort = await freePort();
  const ok = run(bin("playwright"), ["test", "--reporter=list,json"], {
    PLAYWRIGHT_JSON_OUTPUT_NAME: out,
    BERTH_E2E_PORT: String(port),
    BERTH_E2E_DNS_PORT: String(dnsPort),
  });
  if (fs.existsSync(out)) {
    const s = JSON.parse(fs.readFileSync(out, "utf8")).stats ?? {};
    passed += (s.expected ?? 0) + (s.flaky ?? 0);
    failed += s.unexpected ?? 0;
    if ((s.unexpected ?? 0) > 0) failures.push("e2e tests");
    if (!ok && !(s.unexpected > 0)) check("e2e run", false);
  } else {
    check("e2e run", false);
  }
}

fs.rmSync(outDir, { recursive: true, force: true });
if (failures.length) process.stdout.write(`\nfailed: ${failures.join(", ")}\n`);
process.stdout.write(`\n${passed} passed, ${failed} failed\n`);
process.exit(failed > 0 ? 1 : 0);
