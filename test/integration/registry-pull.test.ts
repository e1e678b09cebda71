// The control plane's read-only registry endpoint for nodes (/v2/, server/registry/pull-proxy.ts) against the real
// distribution registry: a node's join token is the password, a team's node reads only its team's images, a shared
// node reads any app's, and nothing but pulls is served.
import crypto from "node:crypto";
import http from "node:http";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startTestServer, type TestServer } from "../helpers/server.ts";
import { ApiClient } from "../helpers/client.ts";

const MANIFEST_TYPE = "application/vnd.oci.image.manifest.v1+json";
let srv: TestServer;
let admin: ApiClient;
let blue: ApiClient;
let sharedToken = "";
let blueToken = "";
let manifestDigest = "";
let layerDigest = "";
let blueDigest = "";

const sha = (b: Buffer | string) => `sha256:${crypto.createHash("sha256").update(b).digest("hex")}`;
const basic = (user: string, pass: string) => `Basic ${Buffer.from(`${user}:${pass}`).toString("base64")}`;

/** Pushes a one-layer image into the platform registry directly (what a build does with buildah). */
async function pushImage(repo: string): Promise<{ manifest: string; layer: string }> {
  const reg = srv.cp.registry();
  const auth = basic(reg.username, reg.password);
  const blob = async (body: Buffer) => {
    const start = await fetch(`http://${reg.host}/v2/${repo}/blobs/uploads/`, {
      method: "POST",
      headers: { authorization: auth },
    });
    expect(start.status).toBe(202);
    const location = new URL(start.headers.get("location") ?? "", `http://${reg.host}`);
    location.searchParams.set("digest", sha(body));
    const put = await fetch(location, {
      method: "PUT",
      headers: { authorization: auth, "content-type": "application/octet-stream" },
      body: new Uint8Array(body),
    });
    expect(put.status).toBe(201);
    return { mediaType: "", digest: sha(body), size: body.length };
  };
  const layer = Buffer.from(crypto.randomBytes(4096));
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
  const put = await fetch(`http://${reg.host}/v2/${repo}/manifests/v1`, {
    method: "PUT",
    headers: { authorization: auth, "content-type": MANIFEST_TYPE },
    body: manifest,
  });
  expect(put.status).toBe(201);
  return { manifest: sha(manifest), layer: l.digest };
}

const pull = (path: string, token: string | undefined, method = "GET") =>
  fetch(`${srv.url}${path}`, {
    method,
    headers: { accept: MANIFEST_TYPE, ...(token !== undefined ? { authorization: basic("node", token) } : {}) },
  });

/** A GET with the path sent as written (fetch would resolve `..` before sending). */
const rawStatus = (path: string, token: string) =>
  new Promise<number>((resolve, reject) => {
    const u = new URL(srv.url);
    http
      .get(
        {
          host: u.hostname,
          port: u.port,
          path,
          headers: { accept: MANIFEST_TYPE, authorization: basic("node", token) },
        },
        (res) => {
          res.resume();
          resolve(res.statusCode ?? 0);
        },
      )
      .on("error", reject);
  });

beforeAll(async () => {
  srv = await startTestServer({ BERTH_SCHEDULER: "off" }, { registry: true });
  admin = new ApiClient(srv.url);
  blue = new ApiClient(srv.url);
  await admin.signUp("pull-admin@example.com");
  await blue.signUp("pull-blue@example.com");
  expect((await blue.req("POST", "/api/v1/teams", { name: "blue-pull" })).status).toBe(201);
  expect((await admin.req("POST", "/api/v1/apps", { name: "pull-app" })).status).toBe(201);
  expect((await blue.req("POST", "/api/v1/apps", { name: "blue-app", team: "blue-pull" })).status).toBe(201);
  sharedToken = (await admin.req("POST", "/api/v1/nodes/join-tokens", { name: "shared-pull" })).body.token;
  const t = await blue.req("POST", "/api/v1/nodes/join-tokens", { name: "blue-pull-node", team: "blue-pull" });
  expect(t.status).toBe(201);
  blueToken = t.body.token;
  ({ manifest: manifestDigest, layer: layerDigest } = await pushImage("pull-app"));
  blueDigest = (await pushImage("blue-app")).manifest;
}, 60_000);

afterAll(async () => {
  await srv?.close();
});

describe("registry pull endpoint for nodes", () => {
  it("asks for credentials and refuses anything but a valid join token", async () => {
    const anon = await pull("/v2/", undefined);
    expect(anon.status).toBe(401);
    expect(anon.headers.get("www-authenticate")).toMatch(/^Basic realm=/);
    expect((await pull("/v2/", "bn_not-a-real-token-at-all-0000000000000000000")).status).toBe(401);
    const reg = srv.cp.registry();
    // The registry's own (push) credential is not a node credential.
    const own = await fetch(`${srv.url}/v2/`, { headers: { authorization: basic(reg.username, reg.password) } });
    expect(own.status).toBe(401);
    expect((await pull("/v2/", sharedToken)).status).toBe(200);
  });

  it("serves manifests and blobs of any app to a shared node", async () => {
    const m = await pull(`/v2/pull-app/manifests/${manifestDigest}`, sharedToken);
    expect(m.status).toBe(200);
    expect(m.headers.get("docker-content-digest")).toBe(manifestDigest);
    expect(sha(Buffer.from(await m.arrayBuffer()))).toBe(manifestDigest);
    const byTag = await pull("/v2/pull-app/manifests/v1", sharedToken, "HEAD");
    expect(byTag.status).toBe(200);
    const b = await pull(`/v2/pull-app/blobs/${layerDigest}`, sharedToken);
    expect(b.status).toBe(200);
    expect(sha(Buffer.from(await b.arrayBuffer()))).toBe(layerDigest);
  });

  it("answers 404 to a team's node for another team's app, as for a missing one", async () => {
    const other = await pull(`/v2/pull-app/manifests/${manifestDigest}`, blueToken);
    expect(other.status).toBe(404);
    expect(await other.json()).toEqual({
      errors: [{ code: "NAME_UNKNOWN", message: "repository name not known to registry" }],
    });
    expect((await pull(`/v2/no-such-app/manifests/${manifestDigest}`, sharedToken)).status).toBe(404);
    expect((await pull(`/v2/blue-app/manifests/${blueDigest}`, blueToken)).status).toBe(200);
  });

  it("serves only pulls: no uploads, catalog, tag lists or odd paths", async () => {
    const post = await pull("/v2/pull-app/blobs/uploads/", sharedToken, "POST");
    expect(post.status).toBe(405);
    for (const p of ["/v2/_catalog", "/v2/pull-app/tags/list", "/v2/Pull-App/manifests/v1"]) {
      expect((await pull(p, sharedToken)).status, p).toBe(404);
    }
    expect(await rawStatus("/v2/blue-app/../pull-app/manifests/v1", blueToken)).toBe(404);
    expect(await rawStatus("/v2/blue-app/manifests/../../pull-app/manifests/v1", blueToken)).toBe(404);
    expect(await rawStatus("/v2/blue-app/manifests/v1", blueToken)).toBe(200);
    const del = await pull(`/v2/pull-app/manifests/${manifestDigest}`, sharedToken, "DELETE");
    expect(del.status).toBe(405);
    expect((await pull(`/v2/pull-app/manifests/${manifestDigest}`, sharedToken)).status).toBe(200);
  });

  it("stops serving a revoked token", async () => {
    const t = (await admin.req("POST", "/api/v1/nodes/join-tokens", { name: "revoked-pull" })).body;
    expect((await pull("/v2/", t.token)).status).toBe(200);
    expect((await admin.req("DELETE", `/api/v1/nodes/join-tokens/${t.id}`)).status).toBe(200);
    expect((await pull(`/v2/pull-app/manifests/${manifestDigest}`, t.token)).status).toBe(401);
  });

  it("answers 503 with one sentence while the registry does not answer (the node retries its pull)", async () => {
    const services = srv.cp.services;
    const real = services.registry;
    // A registry that refuses connections, like one between its crash and its restart.
    services.registry = () => ({ ...real(), host: "127.0.0.1:1" });
    try {
      const r = await pull(`/v2/pull-app/manifests/${manifestDigest}`, sharedToken);
      expect(r.status).toBe(503);
      expect(await r.json()).toEqual({
        errors: [{ code: "UNAVAILABLE", message: "the image registry is not running; try again shortly" }],
      });
    } finally {
      services.registry = real;
    }
    expect((await pull(`/v2/pull-app/manifests/${manifestDigest}`, sharedToken)).status).toBe(200);
  });
});
