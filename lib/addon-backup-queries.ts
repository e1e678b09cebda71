// Queries and mutations of add-on backups (docs/addons.md "Backups"); kept apart from queries.ts so the list polls
// on its own while a capture runs.
import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { api, seg } from "./api";

/** A backup of an add-on (GET /apps/{app}/addons/{addon}/backups). */
export interface AddonBackup {
  id: string;
  addon: string;
  /** capturing | completed | failed */
  state: string;
  /** manual | scheduled */
  origin: string;
  sizeBytes: number;
  error: string | null;
  createdAt: string;
  finishedAt: string | null;
}

export const addonBackupKeys = {
  list: (app: string, addon: string) => ["addon-backups", app, addon] as const,
};

/** The add-on's backups, newest first; polled every 2 s while one is capturing. */
export function useAddonBackups(app: string, addon: string) {
  return useQuery({
    queryKey: addonBackupKeys.list(app, addon),
    queryFn: ({ signal }) => api<AddonBackup[]>(`/apps/${seg(app)}/addons/${seg(addon)}/backups`, { signal }),
    refetchInterval: (q) => (q.state.data?.some((b) => b.state === "capturing") ? 2000 : false),
  });
}

/** Starts a capture (member and above); it answers at once with state capturing. */
export function useCaptureBackup(app: string, addon: string) {
  const qc = useQueryClient();
  return useMutation({
    mutationFn: () => api<AddonBackup>(`/apps/${seg(app)}/addons/${seg(addon)}/backups`, { method: "POST" }),
    onSuccess: (created) => {
      qc.setQueryData<AddonBackup[]>(addonBackupKeys.list(app, addon), (old) => [
        created,
        ...(old ?? []).filter((b) => b.id !== created.id),
      ]);
      void qc.invalidateQueries({ queryKey: addonBackupKeys.list(app, addon) });
    },
  });
}

/** Replaces the add-on's data with a backup (member and above); resolves once it is done. */
export function useRestoreBackup(app: string, addon: string) {
  const qc = useQueryClient();
  return useMutation({
    mutationFn: (id: string) =>
      api<AddonBackup>(`/apps/${seg(app)}/addon-backups/${seg(id)}/restore`, {
        method: "POST",
        body: { confirm: app },
      }),
    onSettled: () => void qc.invalidateQueries({ queryKey: addonBackupKeys.list(app, addon) }),
  });
}

/** Where the browser downloads a backup (the session cookie authorizes it; members and above). */
export function backupDownloadUrl(app: string, id: string): string {
  return `/api/v1/apps/${seg(app)}/addon-backups/${seg(id)}/download`;
}
