// Custom domain names as users may attach them to apps: plain DNS host names (RFC 1123), lower-cased.
import net from "node:net";

export const MAX_HOSTNAME = 253;
const LABEL = /^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$/;

/** Lower-cases and trims a host name as given (one trailing dot, the DNS root, is dropped). */
export function normalizeHostname(raw: string): string {
  const h = raw.trim().toLowerCase();
  return h.endsWith(".") && !h.endsWith("..") ? h.slice(0, -1) : h;
}

/**
 * Why `hostname` (already normalized) is not acceptable as a custom domain, or null if it is.
 * Checks syntax only; whether it belongs to the platform or another app is decided by the caller.
 */
export function hostnameProblem(hostname: string): string | null {
  if (hostname.length === 0) return "hostname is empty";
  if (hostname.length > MAX_HOSTNAME) return `hostname is longer than ${MAX_HOSTNAME} characters`;
  if (hostname.includes("*")) return "wildcard domains are not supported";
  if (net.isIP(hostname) || /^\[.*\]$/.test(hostname)) return "an IP address is not a domain name";
  // Anything else outside the DNS alphabet (Unicode, ports, paths, spaces) is refused before label checks.
  if (!/^[a-z0-9.-]+$/.test(hostname)) {
    return /[^\u0000-\u007f]/.test(hostname)
      ? "use the ASCII (punycode, xn--) form of internationalized domain names"
      : "hostnames contain only letters, digits, dashes and dots";
  }
  const labels = hostname.split(".");
  if (labels.length < 2) return "a domain needs at least two labels (like example.com)";
  for (const label of labels) {
    if (label.length === 0) return "hostname has an empty label";
    if (label.length > 63) return "a hostname label is longer than 63 characters";
    if (!LABEL.test(label)) return `label ${JSON.stringify(label)} must not start or end with a dash`;
  }
  // No top-level domain is all digits; this also catches IPv4 shorthands like 127.1 or 10.0.0.010.
  if (/^[0-9]+$/.test(labels[labels.length - 1] ?? "")) return "an IP address is not a domain name";
  return null;
}

/** True if `hostname` is `zone` or a name under it. */
export function isUnder(hostname: string, zone: string): boolean {
  const z = normalizeHostname(zone);
  return z !== "" && (hostname === z || hostname.endsWith(`.${z}`));
}
