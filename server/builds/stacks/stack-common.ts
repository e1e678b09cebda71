// What the stack modules share: the options of a stack build, the error shown to the pusher, and the host paths and
// limits both the stack cache (stacks.ts) and the root filesystem build (rootfs.ts) use.

export const BUSYBOX_PATH = "/bin/busybox";
export const STACK_TIMEOUT_MS = 30 * 60 * 1000;

export interface StackOptions {
  /** Directory of cached stack archives shared across data dirs; default: BERTH_STACK_CACHE_DIR, else none. */
  cacheDir?: string | null;
  /** Debian mirror URI; default: BERTH_DEBIAN_MIRROR, else the host's apt sources. */
  mirror?: string;
  /** Output lines of the stack build (progress, debootstrap errors). */
  onLine?: (line: string) => void;
}

export class StackError extends Error {}
