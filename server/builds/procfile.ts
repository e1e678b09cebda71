// Procfile parsing: `type: command` lines define process types (Heroku semantics).
import { ProcessType } from "../validation/names.ts";

export interface ProcfileResult {
  types: Record<string, string>;
  errors: string[];
}

/** Parses a Procfile; invalid lines are reported, not silently ignored. */
export function parseProcfile(text: string): ProcfileResult {
  const types: Record<string, string> = {};
  const errors: string[] = [];
  text.split(/\r?\n/).forEach((raw, i) => {
    const line = raw.trim();
    if (line === "" || line.startsWith("#")) return;
    const m = /^([^:\s]+)\s*:\s*(.+)$/.exec(line);
    if (!m?.[1] || !m[2]) {
      errors.push(`line ${i + 1}: expected "type: command"`);
      return;
    }
    if (!ProcessType.safeParse(m[1]).success) {
      errors.push(`line ${i + 1}: invalid process type "${m[1].slice(0, 40)}" (lowercase letters, digits, - and _)`);
      return;
    }
    if (types[m[1]] !== undefined) errors.push(`line ${i + 1}: process type "${m[1]}" defined twice`);
    types[m[1]] = m[2];
  });
  return { types, errors };
}
