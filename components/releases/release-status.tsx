import { Badge, type BadgeTone } from "@/components/ui/badge";
import { titleCase } from "@/lib/format";

const TONES: Record<string, BadgeTone> = {
  pending: "blue",
  deploying: "blue",
  deployed: "green",
  succeeded: "green",
  failed: "red",
  superseded: "neutral",
};

/** The rollout status of a release (failed in red; its reason is shown next to it by the caller). */
export function ReleaseStatus({ status }: { status: string }) {
  return (
    <Badge tone={TONES[status] ?? "neutral"} dot>
      {titleCase(status)}
    </Badge>
  );
}

/** "sha256:1a2b3c4d5e6f" from "registry/app@sha256:…", or the image reference's last part when it has no digest. */
export function shortImage(image: string): string {
  const at = image.lastIndexOf("@");
  if (at >= 0) {
    const digest = image.slice(at + 1);
    const [algo, hex = ""] = digest.split(":");
    return `${algo}:${hex.slice(0, 12)}`;
  }
  return image.split("/").pop() ?? image;
}
