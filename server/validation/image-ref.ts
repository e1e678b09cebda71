// Container image references (docker/OCI distribution grammar, simplified): [host[:port]/]path[:tag][@sha256:digest].
import { z } from "zod";

const component = "[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*";
const host =
  "(?:[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?(?:\\.[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?)*(?::[0-9]{1,5})?/)";
const IMAGE_REF = new RegExp(
  `^${host}?${component}(?:/${component})*(?::[A-Za-z0-9_][A-Za-z0-9_.-]{0,127})?(?:@sha256:[0-9a-f]{64})?$`,
);

/** An image reference; anything else (options, URLs, transports like `docker://`, spaces) is refused. */
export const ImageRef = z
  .string()
  .max(512)
  .regex(IMAGE_REF, { message: "is not an image reference like registry.example.com/team/app:1.2 or name@sha256:..." });

/** Splits `name@sha256:...` into its parts when it has a digest. */
export function splitDigest(ref: string): { name: string; digest: string | null } {
  const i = ref.indexOf("@");
  return i < 0 ? { name: ref, digest: null } : { name: ref.slice(0, i), digest: ref.slice(i + 1) };
}
