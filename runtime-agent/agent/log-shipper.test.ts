import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { silentLogger } from "../log.ts";
import type { LogBatch } from "../protocol/notifications.ts";
import { FakeBackend } from "../runtime/fake-backend.ts";
import type { ContainerInfo } from "../runtime/backend.ts";
import { LogShipper, offsetsFilePath, withLogShipping } from "./log-shipper.ts";

let dir: string;
let sent: LogBatch[];
let connected: boolean;
const shippers: LogShipper[] = [];

const T = "2026-11-27T12:00:00.000000001Z";
const rec = (text: string, stream = "stdout", flag = "F") => `${T} ${stream} ${flag} ${text}\n`;
const texts = () => sent.flatMap((b) => b.lines.map((l) => l.text));

function info(id = "web-1", logPath = path.join(dir, id, "container.log")): ContainerInfo {
  return { id, app: "shop", release: "v3", processType: "web", status: "running", logPath, createdAt: T };
}

function logFile(id = "web-1"): string {
  fs.mkdirSync(path.join(dir, id), { recursive: true });
  return path.join(dir, id, "container.log");
}

function shipper(extra: Partial<ConstructorParameters<typeof LogShipper>[0]> = {}): LogShipper {
  const s = new LogShipper({
    stateDir: path.join(dir, "state"),
    send: (b) => sent.push(structuredClone(b)),
    canSend: () => connected,
    log: silentLogger(),
    intervalMs: 60_000,
    persistMs: 0,
    ...extra,
  });
  shippers.push(s);
  return s;
}

beforeEach(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), "berth-shipper-"));
  sent = [];
  connected = true;
});
afterEach(async () => {
  for (const s of shippers.splice(0)) await s.stop();
  fs.rmSync(dir, { recursive: true, force: true });
});

describe("LogShipper", () => {
  it("ships new lines with the instance's owner and the offset after the batch", async () => {
    const file = logFile();
    fs.writeFileSync(file, rec("one") + rec("two", "stderr"));
    const s = shipper();
    await s.start([info()]);
    await s.flush();
    expect(sent).toHaveLength(1);
    expect(sent[0]).toMatchObject({ instanceId: "web-1", app: "shop", release: "v3", processType: "web" });
    expect(sent[0]?.offset).toBe(fs.statSync(file).size);
    expect(sent[0]?.lines.map((l) => [l.stream, l.text])).toEqual([
      ["stdout", "one"],
      ["stderr", "two"],
    ]);
    fs.appendFileSync(file, rec("three"));
    await s.flush();
    await s.flush();
    expect(texts()).toEqual(["one", "two", "three"]);
  });

  it("reads nothing while disconnected and sends the backlog after reconnecting", async () => {
    const file = logFile();
    const s = shipper();
    await s.start([info()]);
    connected = false;
    for (let i = 0; i < 50; i++) fs.appendFileSync(file, rec(`line ${i}`));
    await s.flush();
    expect(sent).toHaveLength(0);
    connected = true;
    await s.flush();
    expect(texts()).toEqual(Array.from({ length: 50 }, (_, i) => `line ${i}`));
  });

  it("batches at most maxBatchLines per frame", async () => {
    const file = logFile();
    fs.writeFileSync(file, Array.from({ length: 2500 }, (_, i) => rec(`n${i}`)).join(""));
    const s = shipper({ maxBatchLines: 1000 });
    await s.start([info()]);
    await s.flush();
    expect(sent.map((b) => b.lines.length)).toEqual([1000, 1000, 500]);
    expect(texts().at(-1)).toBe("n2499");
  });

  it("resumes from persisted offsets after a restart without resending", async () => {
    const file = logFile();
    fs.writeFileSync(file, rec("before"));
    const a = shipper();
    await a.start([info()]);
    await a.flush();
    await a.stop();
    const saved = JSON.parse(fs.readFileSync(offsetsFilePath(path.join(dir, "state")), "utf8"));
    expect(saved.instances["web-1"].offset).toBe(fs.statSync(file).size);
    fs.appendFileSync(file, rec("while down"));
    const b = shipper();
    await b.start([info()]);
    await b.flush();
    expect(texts()).toEqual(["before", "while down"]);
  });

  it("starts a file from the beginning when its inode changed while the agent was down", async () => {
    const file = logFile();
    fs.writeFileSync(file, rec("old"));
    const a = shipper();
    await a.start([info()]);
    await a.flush();
    await a.stop();
    fs.writeFileSync(`${file}.tmp`, rec("fresh"));
    fs.renameSync(`${file}.tmp`, file);
    const b = shipper();
    await b.start([info()]);
    await b.flush();
    expect(texts()).toEqual(["old", "fresh"]);
  });

  it("follows conmon's rotation: drains the old file, then reads the new one", async () => {
    const file = logFile();
    fs.writeFileSync(file, rec("a"));
    const s = shipper();
    await s.start([info()]);
    await s.flush();
    connected = false;
    fs.appendFileSync(file, rec("b"));
    await s.flush(); // notices nothing new yet, keeps the file open
    fs.writeFileSync(`${file}.tmp`, rec("c"));
    fs.renameSync(`${file}.tmp`, file); // what conmon does at --log-size-max
    await s.flush(); // opens the new inode, still disconnected
    fs.appendFileSync(file, rec("d"));
    connected = true;
    await s.flush();
    expect(texts()).toEqual(["a", "b", "c", "d"]);
  });

  it("counts the unread lines of files it had to drop and reports them before the next lines", async () => {
    const file = logFile();
    fs.writeFileSync(file, rec("a"));
    const s = shipper();
    await s.start([info()]);
    await s.flush();
    connected = false;
    // Five rotations while nothing is shipped: the shipper keeps the current file and two older ones open, so the
    // two oldest (2 + 3 unread lines) are dropped and counted.
    const files = [["b1", "b2"], ["c1", "c2", "c3"], ["d1"], ["e1"], ["f1", "f2"]];
    fs.appendFileSync(file, rec("b0"));
    for (const [i, lines] of files.entries()) {
      if (i > 0) {
        fs.writeFileSync(`${file}.tmp`, "");
        fs.renameSync(`${file}.tmp`, file);
      }
      for (const l of lines) fs.appendFileSync(file, rec(l));
      await s.flush();
    }
    connected = true;
    await s.flush();
    // b0 was unread in the first file too: 3 + 3 lines lost.
    expect(sent.map((b) => [b.lost ?? 0, b.lines.map((l) => l.text)])).toEqual([
      [0, ["a"]],
      [6, []],
      [0, ["d1"]],
      [0, ["e1"]],
      [0, ["f1", "f2"]],
    ]);
  });

  it("joins split lines and sends an unfinished one after partialWaitMs", async () => {
    let now = 1_000;
    const file = logFile();
    fs.writeFileSync(file, rec("abc", "stdout", "P") + rec("def"));
    const s = shipper({ now: () => now, partialWaitMs: 500 });
    await s.start([info()]);
    await s.flush();
    expect(texts()).toEqual(["abcdef"]);
    fs.appendFileSync(file, rec("prompt> ", "stdout", "P"));
    await s.flush();
    expect(texts()).toEqual(["abcdef"]);
    now += 600;
    await s.flush();
    expect(sent.at(-1)?.lines).toEqual([{ at: T, stream: "stdout", partial: true, text: "prompt> " }]);
  });

  it("ships the last lines of a deleted container, then forgets it", async () => {
    const file = logFile();
    const backend = new FakeBackend();
    const s = shipper();
    await s.start([]);
    const wrapped = withLogShipping(
      {
        ...backend,
        create: async (c) => ({ ...(await backend.create(c)), logPath: file }),
        delete: async (id) => {
          await backend.delete(id);
          fs.rmSync(path.dirname(file), { recursive: true, force: true });
        },
        start: (id) => backend.start(id),
        list: () => backend.list(),
        state: (id) => backend.state(id),
        stop: (id, g) => backend.stop(id, g),
        kill: (id, sig) => backend.kill(id, sig),
        stats: (id) => backend.stats(id),
      },
      s,
    );
    fs.writeFileSync(file, "");
    await wrapped.create({
      id: "web-1",
      team: "team-a",
      app: "shop",
      release: "v3",
      processType: "web",
      image: "localhost/busybox:latest",
      command: ["/bin/true"],
      limits: { memoryBytes: 64 * 1024 * 1024, cpuMillis: 100 },
    });
    expect(s.tailed()).toEqual(["web-1"]);
    connected = false;
    fs.appendFileSync(file, rec("last words", "stderr"));
    await wrapped.delete("web-1");
    expect(fs.existsSync(file)).toBe(false);
    connected = true;
    await s.flush();
    expect(texts()).toEqual(["last words"]);
    await s.flush();
    expect(s.tailed()).toEqual([]);
  });
});
