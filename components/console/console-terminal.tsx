"use client";
// One exec session in an xterm.js terminal: a WebSocket to /api/v1/apps/APP/exec (same origin, the session cookie
// authenticates it), output written as bytes (xterm decodes UTF-8 across chunk boundaries, so a character split
// between two frames is not garbled), keystrokes and pastes sent as binary frames, the terminal's size sent as
// resize frames whenever the container changes size. A session does not survive a reconnect (a new socket is a
// new process), so a closed socket is final: the parent offers a new session.
import "@xterm/xterm/css/xterm.css";
import { useEffect, useRef } from "react";
import { describeOutcome, parseControlFrame, type ConsoleOutcome, type ExecControlFrame } from "./console-outcome";

export interface ConsoleTerminalProps {
  app: string;
  instance: string;
  /** The process runs (the `started` frame). */
  onStarted: (instance: string) => void;
  /** The socket closed; the session is over. */
  onClosed: (outcome: ConsoleOutcome) => void;
  /** Set by the terminal: ends the session from outside (the Close session button). */
  closeRef: React.RefObject<(() => void) | null>;
}

const encoder = new TextEncoder();

/** The terminal and its socket; mounts once per session (the parent remounts it with a new key for a new one). */
export function ConsoleTerminal({ app, instance, onStarted, onClosed, closeRef }: ConsoleTerminalProps) {
  const box = useRef<HTMLDivElement>(null);
  // The callbacks change on every parent render; the effect must not restart the session for that.
  const callbacks = useRef({ onStarted, onClosed });
  callbacks.current = { onStarted, onClosed };

  useEffect(() => {
    let disposed = false;
    let cleanup = () => {};
    // xterm touches `window` when imported: load it in the browser only.
    void Promise.all([import("@xterm/xterm"), import("@xterm/addon-fit")]).then(([{ Terminal }, { FitAddon }]) => {
      if (disposed || !box.current) return;
      const term = new Terminal({
        cursorBlink: true,
        fontFamily: 'ui-monospace, SFMono-Regular, Menlo, Consolas, "Liberation Mono", monospace',
        fontSize: 13,
        scrollback: 5000,
        theme: { background: "#18181b", foreground: "#e4e4e7", cursor: "#e4e4e7", selectionBackground: "#52525b" },
      });
      const fit = new FitAddon();
      term.loadAddon(fit);
      term.open(box.current);
      fit.fit();

      const q = new URLSearchParams({ instance, tty: "1", cols: String(term.cols), rows: String(term.rows) });
      const proto = location.protocol === "https:" ? "wss:" : "ws:";
      const ws = new WebSocket(`${proto}//${location.host}/api/v1/apps/${encodeURIComponent(app)}/exec?${q}`);
      ws.binaryType = "arraybuffer";
      let last: ExecControlFrame | null = null;
      let started = false;
      let closedByUser = false;
      const send = (data: Uint8Array | string) => {
        if (ws.readyState === WebSocket.OPEN) ws.send(data);
      };

      ws.onmessage = (ev: MessageEvent<ArrayBuffer | string>) => {
        if (typeof ev.data === "string") {
          const f = parseControlFrame(ev.data);
          if (!f) return;
          last = f;
          if (f.type === "started") {
            started = true;
            callbacks.current.onStarted(f.instance);
            term.focus();
          }
          return;
        }
        // The first byte names the stream (with a terminal, always stdout); the rest is raw output.
        const bytes = new Uint8Array(ev.data);
        if (bytes.length > 1) term.write(bytes.subarray(1));
      };
      ws.onclose = (ev) => {
        term.options.disableStdin = true;
        term.options.cursorBlink = false;
        term.write("\x1b[?25l"); // hide the cursor: nothing reads input any more
        callbacks.current.onClosed(
          closedByUser
            ? { kind: "ended", title: "Session ended", message: "You closed the session." }
            : describeOutcome(last, started, ev.code),
        );
      };

      const input = term.onData((d) => send(encoder.encode(d)));
      // Some mouse reports are not UTF-8: each char code is one byte.
      const binary = term.onBinary((d) => send(Uint8Array.from(d, (c) => c.charCodeAt(0) & 0xff)));
      const resize = term.onResize(({ cols, rows }) => send(JSON.stringify({ type: "resize", cols, rows })));
      term.attachCustomKeyEventHandler((e) => {
        if (e.type !== "keydown") return true;
        // Shift+Tab leaves the terminal (to the Close session button before it): keyboard users are never trapped.
        if (e.key === "Tab" && e.shiftKey && !e.ctrlKey && !e.altKey) return false;
        // Ctrl+Shift+C copies the selection (Ctrl+C is the shell's interrupt); Ctrl+Shift+V is left to the
        // browser, whose paste event xterm handles.
        if (e.ctrlKey && e.shiftKey && e.code === "KeyC") {
          const sel = term.getSelection();
          if (sel) void navigator.clipboard?.writeText(sel).catch(() => undefined);
          e.preventDefault();
          return false;
        }
        if (e.ctrlKey && e.shiftKey && e.code === "KeyV") return false;
        return true;
      });
      const observer = new ResizeObserver(() => {
        try {
          fit.fit();
        } catch {
          // the terminal is being disposed
        }
      });
      observer.observe(box.current);
      closeRef.current = () => {
        closedByUser = true;
        ws.close(1000, "closed by the user");
      };
      term.focus();

      cleanup = () => {
        closeRef.current = null;
        observer.disconnect();
        input.dispose();
        binary.dispose();
        resize.dispose();
        ws.onclose = null;
        ws.onmessage = null;
        ws.close(1000, "closed by the user");
        term.dispose();
      };
    });
    return () => {
      disposed = true;
      cleanup();
    };
  }, [app, instance, closeRef]);

  return (
    <div
      ref={box}
      data-testid="console-terminal"
      className="h-[28rem] w-full overflow-hidden rounded-md bg-zinc-900 p-2"
    />
  );
}
