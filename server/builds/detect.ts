// Decides how to build a source tree: its Dockerfile, or an auto-detected platform stack (like buildpacks do).

export type BuildKind =
  { kind: "dockerfile"; dockerfile: string } | { kind: "node" } | { kind: "static" } | { kind: "procfile" };

/** Picks the build kind from the files at the root of the source (`has` answers for relative paths). */
export function detectBuild(has: (file: string) => boolean, dockerfilePath = "Dockerfile"): BuildKind | null {
  if (has(dockerfilePath)) return { kind: "dockerfile", dockerfile: dockerfilePath };
  if (has("package.json")) return { kind: "node" };
  if (has("index.html")) return { kind: "static" };
  if (has("Procfile")) return { kind: "procfile" };
  return null;
}

/** Human name of a build kind, for the push output. */
export function describeBuild(b: BuildKind): string {
  switch (b.kind) {
    case "dockerfile":
      return `Dockerfile (${b.dockerfile})`;
    case "node":
      return "Node.js app (package.json)";
    case "static":
      return "static site (index.html)";
    case "procfile":
      return "Procfile app";
  }
}
