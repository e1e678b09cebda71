// The add-on kinds and plans the create form offers. The server's allowlist (server/addons/catalog.ts) is the
// authority and refuses anything else; server/addons/dashboard-plans.test.ts keeps the two in step.

export interface AddonPlanOption {
  name: string;
  memoryMb: number;
  volumeMb: number;
  maxConnections: number;
}

export interface AddonKindOption {
  kind: "postgres" | "redis";
  label: string;
  version: string;
  plans: AddonPlanOption[];
}

export const ADDON_KIND_OPTIONS: readonly AddonKindOption[] = [
  {
    kind: "postgres",
    label: "PostgreSQL",
    version: "15",
    plans: [
      { name: "small", memoryMb: 512, volumeMb: 1024, maxConnections: 20 },
      { name: "standard", memoryMb: 1024, volumeMb: 4096, maxConnections: 60 },
    ],
  },
  {
    kind: "redis",
    label: "Redis",
    version: "7",
    plans: [
      { name: "small", memoryMb: 256, volumeMb: 512, maxConnections: 100 },
      { name: "standard", memoryMb: 1024, volumeMb: 2048, maxConnections: 400 },
    ],
  },
];

/** The display name of a kind ("postgres" → "PostgreSQL"). */
export function addonKindLabel(kind: string): string {
  return ADDON_KIND_OPTIONS.find((k) => k.kind === kind)?.label ?? kind;
}
