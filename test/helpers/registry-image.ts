// Pushes small one-layer images straight into a test server's real registry (what a build does with buildah).
import crypto from "node:crypto";
import type { RegistryInfo } from "../../server/service-types.ts";

const MANIFEST_TYPE = "application/vnd.oci.image.manifest.v1+json";

/** `sha256:<hex>` of a buffer or string. */
export const sha = (b: Buffer | string) => `sha256:${crypto.createHash("sha256").update(b).digest("hex")}`;

/** Basic auth header value. */
export const basic = (user: string, pass: string) => `Basic ${Buffer.from(`${user}:${pass}`).toString("base64")}`;

/** Pushes a random one-layer image as `repo:tag`; resolves to its manifest and layer digests. */
export async function pushTestImage(
  reg: RegistryInfo,
  repo: string,
  tag: string,
): Promise<{ manifest: string; layer: string }> {
  const auth = basic(reg.username, reg.password);
  const blob = async (body: Buffer) => {
    const start = await fetch(`http://${reg.host}/v2/${repo}/blobs/uploads/`, {
      method: "POST",
      headers: { authorization: auth },
    });
    if (start.status !== 202) throw new Error(`blob upload start: ${start.status}`);
    const location = new URL(start.headers.get("location") ?? "", `http://${reg.host}`);
    location.searchParams.set("digest", sha(body));
    const put = await fetch(location, {
      method: "PUT",
      headers: { authorization: auth, "content-type": "application/octet-stream" },
      body: new Uint8Array(body),
    });
    if (put.status !== 201) throw new Error(`blob upload: ${put.status}`);
    return { digest: sha(body), size: body.length };
  };
  const layer = crypto.randomBytes(4096);
  const config = Buffer.from(
    JSON.stringify({ architecture: "amd64", os: "linux", rootfs: { type: "layers", diff_ids: [sha(layer)] } }),
  );
  const l = await blob(layer);
  const c = await blob(config);
  const manifest = JSON.stringify({
    schemaVersion: 2,
    mediaType: MANIFEST_TYPE,
    config: { ...c, mediaType: "application/vnd.oci.image.config.v1+json" },
    layers: [{ ...l, mediaType: "application/vnd.oci.image.layer.v1.tar" }],
  });
  const put = await fetch(`http://${reg.host}/v2/${repo}/manifests/${tag}`, {
    method: "PUT",
    headers: { authorization: auth, "content-type": MANIFEST_TYPE },
    body: manifest,
  });
  if (put.status !== 201) throw new Error(`manifest put: ${put.status}`);
  return { manifest: sha(manifest), layer: l.digest };
}

/** Status of a GET of a registry path (`/v2/...`) with the registry's own credentials. */
export async function registryStatus(reg: RegistryInfo, p: string): Promise<number> {
  const r = await fetch(`http://${reg.host}${p}`, {
    headers: { authorization: basic(reg.username, reg.password), accept: MANIFEST_TYPE },
  });
  await r.arrayBuffer();
  return r.status;
}
