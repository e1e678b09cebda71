// Backups of a volume for the dashboard's volumes table (docs/volumes.md "Backups"); made and restored with the CLI.
import { useQuery } from "@tanstack/react-query";
import { api, seg } from "./api";
import type { VolumeBackup } from "./types";

export const volumeBackupKeys = {
  list: (app: string, volume: string) => ["volume-backups", app, volume] as const,
};

/** The volume's backups, newest first; polled every 2 s while one is capturing. */
export function useVolumeBackups(app: string, volume: string) {
  return useQuery({
    queryKey: volumeBackupKeys.list(app, volume),
    queryFn: ({ signal }) => api<VolumeBackup[]>(`/apps/${seg(app)}/volumes/${seg(volume)}/backups`, { signal }),
    refetchInterval: (q) => (q.state.data?.some((b) => b.state === "capturing") ? 2000 : false),
  });
}
