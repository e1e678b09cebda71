// Debian packages Berth needs on a host, and a helper that installs the missing ones (root only).
import { execFileSync, spawnSync } from "node:child_process";

/** Packages the platform itself runs on (CONTRACT.md "Set-up"). */
export const PLATFORM_PACKAGES = [
  "git",
  "runc",
  "conmon",
  "buildah",
  "skopeo",
  "containernetworking-plugins",
  "docker-registry",
  // The router (docs/router.md); openssl makes the internal issuer's CA and certificates.
  "haproxy",
  "openssl",
  "iptables",
  "iproute2",
  // mkfs.ext4 for size-limited writable layers; mount/umount/losetup/unshare for them and for user namespaces.
  "e2fsprogs",
  "mount",
  "util-linux",
  // python3 receives the pty of `runc exec --tty` for exec sessions (runtime-agent/runtime/exec-tty-relay.ts).
  "python3",
  "busybox-static",
  "debootstrap",
  "ca-certificates",
];

/** Extra packages the test tiers need (browser for e2e, load tools for benchmarks, zsh for the CLI completion test, a
 * DNS server for domain verification tests, an ACME CA for the router's certificate tests). */
export const TEST_PACKAGES = ["chromium", "fonts-liberation", "zsh", "dnsmasq-base", "pebble"];

/** Names of packages from `wanted` that dpkg does not report as installed. */
export function missingPackages(wanted) {
  return wanted.filter((pkg) => {
    const r = spawnSync("dpkg-query", ["-W", "-f=${Status}", pkg], { encoding: "utf8" });
    return r.status !== 0 || !r.stdout.includes("install ok installed");
  });
}

/** Installs missing packages with apt-get when running as root; returns what is still missing. */
export function ensurePackages(wanted, log = (m) => process.stdout.write(`${m}\n`)) {
  const missing = missingPackages(wanted);
  if (missing.length === 0) return [];
  if (process.getuid?.() !== 0) {
    log(`berth: not root, so not installing host packages: ${missing.join(" ")}`);
    return missing;
  }
  log(`berth: installing host packages: ${missing.join(" ")}`);
  const env = { ...process.env, DEBIAN_FRONTEND: "noninteractive" };
  execFileSync("apt-get", ["update", "-qq"], { stdio: "inherit", env });
  execFileSync("apt-get", ["install", "-y", "-qq", "--no-install-recommends", ...missing], { stdio: "inherit", env });
  return missingPackages(wanted);
}
