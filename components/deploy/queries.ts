// Server state of the Deploy tab: builds (history and one build's stored log) and deploying an image by reference.
// Keys sit under the app's key, so events of the app (and a stream reconnect) refresh them too.
import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { api, seg } from "@/lib/api";
import { keys } from "@/lib/queries";
import type { Release } from "@/lib/types";

/** A build as listed (GET /apps/{app}/builds). */
export interface Build {
  id: string;
  status: "building" | "succeeded" | "failed" | (string & {});
  ref: string;
  commit: string;
  image: string | null;
  error: string | null;
  createdAt: string;
  finishedAt: string | null;
}

/** One build with its stored output (the last 1 MiB). */
export interface BuildDetail extends Build {
  output: string;
}

/** A chunk of live build output (`data` of a message on the builds channel; server/builds/output.ts). */
export interface BuildChunk {
  buildId: string;
  text: string;
}

export const buildKeys = {
  list: (app: string) => [...keys.app(app), "builds"] as const,
  one: (app: string, id: string) => [...keys.app(app), "builds", id] as const,
};

/** Builds of an app, newest first; polled while one is running (the list has no stream of its own). */
export function useBuilds(app: string) {
  return useQuery({
    queryKey: buildKeys.list(app),
    queryFn: ({ signal }) => api<Build[]>(`/apps/${seg(app)}/builds`, { signal }),
    refetchInterval: (q) => (q.state.data?.some((b) => b.status === "building") ? 3000 : false),
  });
}

/** One build with its stored output. */
export function useBuild(app: string, id: string | null, running: boolean) {
  return useQuery({
    queryKey: buildKeys.one(app, id ?? ""),
    queryFn: ({ signal }) => api<BuildDetail>(`/apps/${seg(app)}/builds/${seg(id ?? "")}`, { signal }),
    enabled: id !== null,
    // A running build's stored output only matters when the live stream started after it; no need to poll.
    staleTime: running ? Infinity : 0,
  });
}

/** Releases an existing image (copied into the platform registry). */
export function useDeployImage(app: string) {
  const qc = useQueryClient();
  return useMutation({
    mutationFn: (image: string) => api<Release>(`/apps/${seg(app)}/releases`, { method: "POST", body: { image } }),
    onSuccess: async () => {
      await Promise.all([
        qc.invalidateQueries({ queryKey: keys.app(app) }),
        qc.invalidateQueries({ queryKey: ["apps"] }),
      ]);
    },
  });
}
