// Summarizes V8 .cpuprofile files (node --cpu-prof): the functions with the most self time, and the most inclusive
// time for functions under the project's own code, so a profile can be read without DevTools.
// Run: npx tsx bench/lib/cpuprofile-top.ts FILE.cpuprofile [top=30]
import fs from "node:fs";
import path from "node:path";

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  hitCount?: number;
  children?: number[];
}
interface Profile {
  nodes: ProfileNode[];
  startTime: number;
  endTime: number;
  samples: number[];
  timeDeltas: number[];
}

const file = process.argv[2];
const TOP = Number(process.argv[3] ?? 30);
if (!file) {
  process.stderr.write("usage: npx tsx bench/lib/cpuprofile-top.ts FILE.cpuprofile [top]\n");
  process.exit(2);
}
const profile = JSON.parse(fs.readFileSync(file, "utf8")) as Profile;
const root = process.cwd();

const byId = new Map(profile.nodes.map((n) => [n.id, n]));
const parent = new Map<number, number>();
for (const n of profile.nodes) for (const c of n.children ?? []) parent.set(c, n.id);

const where = (n: ProfileNode) => {
  const u = n.callFrame.url.replace(/^file:\/\//, "");
  const rel = u.startsWith(root) ? path.relative(root, u) : u.replace(/.*node_modules\//, "nm:");
  return rel ? `${rel}:${n.callFrame.lineNumber + 1}` : "(native)";
};
const label = (n: ProfileNode) => `${n.callFrame.functionName || "(anonymous)"} ${where(n)}`;

// Self time per function (same name and place), and inclusive time (counted once per sample per function).
const self = new Map<string, number>();
const inclusive = new Map<string, number>();
let total = 0;
for (let i = 0; i < profile.samples.length; i++) {
  const id = profile.samples[i] as number;
  const dt = Math.max(0, profile.timeDeltas[i + 1] ?? 0);
  total += dt;
  const leaf = byId.get(id) as ProfileNode;
  self.set(label(leaf), (self.get(label(leaf)) ?? 0) + dt);
  const seen = new Set<string>();
  for (let cur: number | undefined = id; cur !== undefined; cur = parent.get(cur)) {
    const l = label(byId.get(cur) as ProfileNode);
    if (seen.has(l)) continue;
    seen.add(l);
    inclusive.set(l, (inclusive.get(l) ?? 0) + dt);
  }
}
const idle = [...self].filter(([k]) => k.startsWith("(idle)")).reduce((s, [, v]) => s + v, 0);
const ms = (us: number) => (us / 1000).toFixed(0).padStart(7);
const share = (us: number) => `${((100 * us) / Math.max(1, total - idle)).toFixed(1).padStart(5)}%`;

process.stdout.write(
  `${path.basename(file)}: ${(total / 1e6).toFixed(1)} s profiled, ${(idle / 1e6).toFixed(1)} s idle, ` +
    `${((total - idle) / 1e6).toFixed(1)} s busy (shares below are of busy time)\n\nself time:\n`,
);
for (const [k, v] of [...self]
  .filter(([k]) => !k.startsWith("(idle)"))
  .sort((a, b) => b[1] - a[1])
  .slice(0, TOP)) {
  process.stdout.write(`${ms(v)} ms ${share(v)}  ${k}\n`);
}
process.stdout.write("\ninclusive time, project code (server/, runtime-agent/):\n");
for (const [k, v] of [...inclusive]
  .filter(([k]) => / (server|runtime-agent)\//.test(k))
  .sort((a, b) => b[1] - a[1])
  .slice(0, TOP)) {
  process.stdout.write(`${ms(v)} ms ${share(v)}  ${k}\n`);
}
