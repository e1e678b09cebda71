// The subset of the OCI runtime spec (config.json, runtime-spec 1.0.2) that Berth writes. Fields it never sets
// (hooks, devices, annotations for host resources...) are deliberately absent so they cannot be set by mistake.

export interface OciMount {
  destination: string;
  type: string;
  source: string;
  options: string[];
}

export interface OciIdMapping {
  containerID: number;
  hostID: number;
  size: number;
}

export interface OciNamespace {
  type: "pid" | "network" | "mount" | "ipc" | "uts" | "user" | "cgroup";
  path?: string;
}

export interface OciSeccompArg {
  index: number;
  value: number;
  valueTwo?: number;
  op:
    | "SCMP_CMP_NE"
    | "SCMP_CMP_LT"
    | "SCMP_CMP_LE"
    | "SCMP_CMP_EQ"
    | "SCMP_CMP_GE"
    | "SCMP_CMP_GT"
    | "SCMP_CMP_MASKED_EQ";
}

export interface OciSeccompRule {
  names: string[];
  action: "SCMP_ACT_ERRNO" | "SCMP_ACT_ALLOW" | "SCMP_ACT_KILL_PROCESS";
  errnoRet?: number;
  args?: OciSeccompArg[];
}

export interface OciSeccomp {
  defaultAction: "SCMP_ACT_ALLOW" | "SCMP_ACT_ERRNO";
  architectures: string[];
  syscalls: OciSeccompRule[];
}

export interface OciCapabilities {
  bounding: string[];
  effective: string[];
  permitted: string[];
  inheritable: string[];
  ambient: string[];
}

export interface OciSpec {
  ociVersion: string;
  process: {
    terminal: false;
    user: { uid: number; gid: number; additionalGids?: number[] };
    args: string[];
    env: string[];
    cwd: string;
    capabilities: OciCapabilities;
    rlimits: { type: string; hard: number; soft: number }[];
    noNewPrivileges: true;
    oomScoreAdj?: number;
  };
  root: { path: string; readonly: boolean };
  hostname: string;
  mounts: OciMount[];
  linux: {
    namespaces: OciNamespace[];
    uidMappings?: OciIdMapping[];
    gidMappings?: OciIdMapping[];
    cgroupsPath: string;
    resources: {
      devices: { allow: boolean; access: string }[];
      memory: { limit: number; swap: number; disableOOMKiller: false };
      /** `shares` on cgroup v1 hosts only; on v2 the weight is in `unified` (see cpuResources in spec.ts). */
      cpu: { shares?: number; quota: number; period: number };
      pids: { limit: number };
      /** cgroup v2 only: `cpu.weight` and nothing else. */
      unified?: { "cpu.weight": string };
    };
    sysctl: Record<string, string>;
    seccomp: OciSeccomp;
    maskedPaths: string[];
    readonlyPaths: string[];
    rootfsPropagation: "rprivate";
  };
}
