// The pty receiver that `runc exec --tty --console-socket` needs, as Python source run with `python3 -c` (the agent
// is one bundled file, so the script travels inside it). Why Python: runc passes the pty master as an SCM_RIGHTS
// message and Node.js cannot receive file descriptors; Python's standard library can (socket.recv_fds). What it
// does and its fd contract are in the script's own header.

/** Source of the relay (see its header for arguments and file descriptors). */
export const EXEC_TTY_RELAY = String.raw`# berth exec-tty: runs 'runc exec --detach --tty --console-socket' and relays the pty it receives.
#
# runc hands the master side of the container's new pty to whoever listens on the console socket, as an
# SCM_RIGHTS message (runc docs/terminals.md, "detached new terminal"); Node cannot receive file descriptors, so this
# small receiver does, like runc's contrib/cmd/recvtty and conmon do. It is a child subreaper so that the exec'd
# process, orphaned when runc exits, is reparented here and its exit status can be collected.
#
# Usage: python3 -c SOURCE RUNC_PATH RUNC_ROOT CONTAINER_ID COLS ROWS [-e KEY=VALUE]... -- ARGV...
# fd 0: input for the pty, fd 1: pty output, fd 3: control (in: "resize COLS ROWS\n", "kill\n";
# out: one JSON line {"exit": N} or {"error": "..."} at the end). stderr: runc's diagnostics.
import ctypes
import fcntl
import json
import os
import select
import shutil
import signal
import socket
import struct
import sys
import tempfile
import termios

PR_SET_CHILD_SUBREAPER = 36


def report(ctl, obj):
    try:
        os.write(ctl, (json.dumps(obj) + "\n").encode())
    except OSError:
        pass


def set_size(fd, cols, rows):
    fcntl.ioctl(fd, termios.TIOCSWINSZ, struct.pack("HHHH", rows, cols, 0, 0))


def status_code(status):
    if os.WIFEXITED(status):
        return os.WEXITSTATUS(status)
    if os.WIFSIGNALED(status):
        return 128 + os.WTERMSIG(status)
    return 255


def kill(pid):
    try:
        os.kill(pid, signal.SIGKILL)
    except ProcessLookupError:
        pass


def reap(pid, code):
    """Collects every orphan reparented to us; returns the exec'd process's status once it is known."""
    while True:
        try:
            wpid, status = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            return code if code is not None else 255
        if wpid == 0:
            return code
        if wpid == pid:
            code = status_code(status)


def main():
    args = sys.argv[1:]
    sep = args.index("--")
    runc, root, cid, cols, rows = args[:5]
    envs = args[5:sep]
    argv = args[sep + 1 :]
    cols, rows = int(cols), int(rows)
    ctl = 3
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) != 0:
        report(ctl, {"error": "prctl(PR_SET_CHILD_SUBREAPER) failed"})
        return 1
    tmp = tempfile.mkdtemp(prefix="berth-exec-")
    try:
        return relay(runc, root, cid, cols, rows, envs, argv, ctl, tmp)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def relay(runc, root, cid, cols, rows, envs, argv, ctl, tmp):
    sock_path = os.path.join(tmp, "console.sock")
    pid_path = os.path.join(tmp, "pid")
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    listener.bind(sock_path)
    listener.listen(1)
    cmd = [runc, "--root", root, "exec", "--detach", "--tty", "--console-socket", sock_path, "--pid-file", pid_path]
    cmd += envs + ["--", cid] + argv
    runc_pid = os.fork()
    if runc_pid == 0:
        os.setsid()
        devnull = os.open(os.devnull, os.O_RDWR)
        os.dup2(devnull, 0)
        os.dup2(devnull, 1)
        os.closerange(3, 65536)
        os.execv(runc, cmd)
    master = -1
    # runc connects, sends the fd and exits (or fails before connecting): wait for whichever comes first.
    listener.settimeout(0.1)
    runc_status = None
    while master < 0:
        try:
            conn, _ = listener.accept()
            conn.settimeout(10)
            _msg, fds, _flags, _addr = socket.recv_fds(conn, 4096, 1)
            conn.close()
            if not fds:
                report(ctl, {"error": "runc sent no terminal"})
                return 1
            master = fds[0]
        except socket.timeout:
            pid, status = os.waitpid(runc_pid, os.WNOHANG)
            if pid == runc_pid:
                runc_status = status
                report(ctl, {"error": "runc exec failed"})
                return 1
    listener.close()
    if runc_status is None:
        _, runc_status = os.waitpid(runc_pid, 0)
    if status_code(runc_status) != 0:
        report(ctl, {"error": "runc exec failed"})
        return 1
    with open(pid_path) as f:
        pid = int(f.read().strip())
    set_size(master, cols, rows)
    os.set_blocking(master, False)
    os.set_blocking(1, False)
    stdin_open = True
    master_open = True
    ctl_buf = b""
    code = None
    pending_out = b""
    pending_in = b""
    quiet = 0
    while True:
        # Nothing more is read from a side while what it sent before is still waiting to be written: a slow reader
        # blocks the writer (the process blocks on a full pty; our caller stops reading stdin), nothing piles up here.
        rlist = [ctl]
        if master_open and not pending_out:
            rlist.append(master)
        if stdin_open and not pending_in:
            rlist.append(0)
        wlist = []
        if pending_out:
            wlist.append(1)
        if pending_in and master_open:
            wlist.append(master)
        r, w, _ = select.select(rlist, wlist, [], 0.2)
        if 1 in w:
            pending_out = pending_out[os.write(1, pending_out) :]
        if master in w:
            try:
                pending_in = pending_in[os.write(master, pending_in) :]
            except BlockingIOError:
                pass
        if master in r:
            try:
                data = os.read(master, 65536)
            except OSError:
                data = b""
            if data:
                pending_out += data
            else:
                # EIO: every slave side is closed (the process and anything it started are gone or detached).
                master_open = False
        if 0 in r:
            data = os.read(0, 65536)
            if data:
                pending_in += data
            else:
                stdin_open = False
        if ctl in r:
            data = os.read(ctl, 4096)
            if not data:
                kill(pid)
            ctl_buf += data
            while b"\n" in ctl_buf:
                line, ctl_buf = ctl_buf.split(b"\n", 1)
                parts = line.decode("ascii", "replace").split()
                if parts[:1] == ["resize"] and len(parts) == 3 and master_open:
                    set_size(master, int(parts[1]), int(parts[2]))
                elif parts[:1] == ["kill"]:
                    kill(pid)
        code = reap(pid, code)
        if code is not None and not pending_out:
            # The process is gone; give output still in the pty a moment, then stop (a daemon it left behind may keep
            # the pty open forever).
            quiet = quiet + 1 if (master not in r) else 0
            if not master_open or quiet >= 2:
                break
    os.set_blocking(1, True)
    while pending_out:
        pending_out = pending_out[os.write(1, pending_out) :]
    report(ctl, {"exit": code})
    return 0


if __name__ == "__main__":
    sys.exit(main())
`;
