// A tiny SGR parser for build output: colours and bold/dim/italic/underline become class names on text segments
// that React renders as escaped text. Every other escape sequence and control character is dropped, and of a line
// rewritten with carriage returns (progress bars) only its last state is kept. No HTML is ever produced.

export interface AnsiSegment {
  text: string;
  /** Tailwind classes for the segment's style ("" for plain text). */
  className: string;
}

interface Style {
  fg: number | null;
  bg: number | null;
  bold: boolean;
  dim: boolean;
  italic: boolean;
  underline: boolean;
}

const PLAIN: Style = { fg: null, bg: null, bold: false, dim: false, italic: false, underline: false };

// Colours for a dark terminal background (index 0-7 normal, 8-15 bright). Literal strings so Tailwind sees them.
const FG = [
  "text-zinc-500",
  "text-red-400",
  "text-emerald-400",
  "text-amber-300",
  "text-sky-400",
  "text-fuchsia-400",
  "text-cyan-300",
  "text-zinc-200",
  "text-zinc-400",
  "text-red-300",
  "text-emerald-300",
  "text-yellow-200",
  "text-sky-300",
  "text-fuchsia-300",
  "text-cyan-200",
  "text-white",
];
const BG = [
  "bg-zinc-800",
  "bg-red-900",
  "bg-emerald-900",
  "bg-amber-900",
  "bg-sky-900",
  "bg-fuchsia-900",
  "bg-cyan-900",
  "bg-zinc-600",
  "bg-zinc-700",
  "bg-red-800",
  "bg-emerald-800",
  "bg-amber-800",
  "bg-sky-800",
  "bg-fuchsia-800",
  "bg-cyan-800",
  "bg-zinc-500",
];

// ESC [ params final (CSI), or its C1 form; string commands (OSC, DCS, SOS, PM, APC) up to BEL/ST; short ESC forms.
const ESCAPE =
  /(?:\u001b\[|\u009b)([\u0030-\u003f]*)[\u0020-\u002f]*([\u0040-\u007e])|(?:\u001b[\]PX^_]|[\u009d\u0090\u0098\u009e\u009f])[^\u0007\u001b\u009c]*(?:\u0007|\u001b\\|\u009c)?|\u001b[\u0020-\u002f]*[\u0030-\u007e]?/g;
const CONTROL = /[\u0000-\u0008\u000b-\u001f\u007f-\u009f]/g;

function classOf(s: Style): string {
  const c: string[] = [];
  if (s.fg !== null) c.push(FG[s.fg] ?? "");
  if (s.bg !== null) c.push(BG[s.bg] ?? "");
  if (s.bold) c.push("font-semibold");
  if (s.dim) c.push("opacity-70");
  if (s.italic) c.push("italic");
  if (s.underline) c.push("underline");
  return c.filter(Boolean).join(" ");
}

/** Applies one SGR parameter list ("1;31", "38;5;208", "") to a style. */
function applySgr(style: Style, params: string): Style {
  const s = { ...style };
  const codes = params === "" ? [0] : params.split(/[;:]/).map((p) => (p === "" ? 0 : Number(p)));
  for (let i = 0; i < codes.length; i++) {
    const n = codes[i] ?? 0;
    if (n === 0) Object.assign(s, PLAIN);
    else if (n === 1) s.bold = true;
    else if (n === 2) s.dim = true;
    else if (n === 3) s.italic = true;
    else if (n === 4) s.underline = true;
    else if (n === 22) s.bold = s.dim = false;
    else if (n === 23) s.italic = false;
    else if (n === 24) s.underline = false;
    else if (n >= 30 && n <= 37) s.fg = n - 30;
    else if (n >= 90 && n <= 97) s.fg = n - 90 + 8;
    else if (n === 39) s.fg = null;
    else if (n >= 40 && n <= 47) s.bg = n - 40;
    else if (n >= 100 && n <= 107) s.bg = n - 100 + 8;
    else if (n === 49) s.bg = null;
    else if (n === 38 || n === 48) {
      // 256-colour (5;N: the first 16 map onto the palette) and true colour (2;R;G;B: not shown) forms.
      const mode = codes[i + 1];
      if (mode === 5) {
        const idx = codes[i + 2] ?? 0;
        if (idx < 16) {
          if (n === 38) s.fg = idx;
          else s.bg = idx;
        }
        i += 2;
      } else if (mode === 2) i += 4;
    }
  }
  return s;
}

/** Keeps the last state of a line rewritten with carriage returns. */
function lastState(line: string): string {
  if (!line.includes("\r")) return line;
  const states = line.split("\r").filter((x) => x.length > 0);
  return states[states.length - 1] ?? "";
}

/** Parses terminal output into styled segments (the style carries across lines, as in a terminal). */
export function parseAnsi(text: string): AnsiSegment[] {
  const out: AnsiSegment[] = [];
  let style = PLAIN;
  const lines = text.replace(/\r+\n/g, "\n").split("\n");
  lines.forEach((raw, li) => {
    const line = lastState(raw);
    let last = 0;
    const push = (chunk: string) => {
      const clean = chunk.replace(CONTROL, "");
      if (!clean) return;
      const className = classOf(style);
      const prev = out[out.length - 1];
      if (prev && prev.className === className) prev.text += clean;
      else out.push({ text: clean, className });
    };
    for (const m of line.matchAll(ESCAPE)) {
      push(line.slice(last, m.index));
      last = (m.index ?? 0) + m[0].length;
      if (m[2] === "m" && m[1] !== undefined && /^[0-9;:]*$/.test(m[1])) style = applySgr(style, m[1]);
    }
    push(line.slice(last));
    if (li < lines.length - 1) {
      const prev = out[out.length - 1];
      if (prev) prev.text += "\n";
      else out.push({ text: "\n", className: "" });
    }
  });
  return out;
}
