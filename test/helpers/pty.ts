// Drives the real `berth` CLI on a real pseudo-terminal, as a person at a terminal would: the exec and `berth run`
// root tests both type into remote shells through it.
import { spawn } from "node:child_process";
import path from "node:path";
import { fileURLToPath } from "node:url";

const ROOT = fileURLToPath(new URL("../..", import.meta.url));
const BIN = path.join(ROOT, "bin/berth.mjs");

/** python3 (no shell): a pty of 27 x 91 for argv, relayed to stdio; SIGUSR1 makes the window 43 x 132. */
const DRIVER = String.raw`
import fcntl, os, select, signal, struct, sys, termios
def winsize(fd, rows, cols):
    fcntl.ioctl(fd, termios.TIOCSWINSZ, struct.pack("HHHH", rows, cols, 0, 0))
master, slave = os.openpty()
winsize(slave, 27, 91)
pid = os.fork()
if pid == 0:
    os.setsid()
    fcntl.ioctl(slave, termios.TIOCSCTTY, 0)
    for fd in (0, 1, 2):
        os.dup2(slave, fd)
    os.close(master)
    os.execv(sys.argv[1], sys.argv[1:])
os.close(slave)
signal.signal(signal.SIGUSR1, lambda *_: winsize(master, 43, 132))
inputs = [master, 0]
while True:
    r, _, _ = select.select(inputs, [], [])
    if master in r:
        try:
            data = os.read(master, 65536)
        except OSError:
            break
        if not data:
            break
        os.write(1, data)
    if 0 in r:
        data = os.read(0, 65536)
        if data:
            os.write(master, data)
        else:
            inputs.remove(0)
_, status = os.waitpid(pid, 0)
sys.exit(os.waitstatus_to_exitcode(status) & 255)
`;

/** A keystroke step: `send` once `after` matches the output so far; `null` resizes the window instead. */
export interface PtyStep {
  after: RegExp;
  send: string | null;
}

/**
 * Runs the CLI on a real pty of 27 rows x 91 columns: feeds `steps` as keystrokes once their `after` shows, answers
 * busybox ash's cursor-position queries like a terminal, and on a step's `send` of null makes the window 43 x 132
 * (the kernel then sends SIGWINCH to the CLI). `env` is the CLI's environment (BERTH_URL, BERTH_TOKEN, HOME...).
 */
export function berthInPty(
  args: string[],
  steps: PtyStep[],
  o: { env: NodeJS.ProcessEnv; onOut?: (out: string) => void; timeoutMs?: number },
) {
  const child = spawn("/usr/bin/python3", ["-c", DRIVER, process.execPath, BIN, ...args], {
    cwd: ROOT,
    env: o.env,
    stdio: ["pipe", "pipe", "pipe"],
  });
  let out = "";
  let next = 0;
  let queries = 0;
  let holdUntil = 0;
  const feed = () => {
    const asked = out.split("\x1b[6n").length - 1;
    for (; queries < asked; queries++) child.stdin.write("\x1b[1;1R");
    while (next < steps.length && Date.now() >= holdUntil && steps[next]!.after.test(out)) {
      const send = steps[next++]!.send;
      if (send === null) {
        // The new size travels CLI (SIGWINCH) -> control plane -> agent; typing waits until it surely arrived.
        child.kill("SIGUSR1");
        holdUntil = Date.now() + 1000;
        setTimeout(feed, 1100);
      } else child.stdin.write(send);
    }
  };
  child.stdout.on("data", (d: Buffer) => {
    out += d.toString("utf8");
    o.onOut?.(out);
    feed();
  });
  child.stderr.on("data", (d: Buffer) => (out += d.toString("utf8")));
  return new Promise<{ code: number | null; out: string }>((resolve) => {
    const timer = setTimeout(() => child.kill("SIGKILL"), o.timeoutMs ?? 90_000);
    child.on("close", (code) => {
      clearTimeout(timer);
      resolve({ code, out });
    });
  });
}
