// Server state, all through TanStack Query: one key factory per resource, hooks for reads, mutations that
// invalidate exactly the keys they change.
import { type QueryClient, useInfiniteQuery, useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { api, isStatus, seg, setCsrfToken } from "./api";
import type {
  ActivityItem,
  Addon,
  AddonInfo,
  Volume,
  AddMemberResult,
  ApiToken,
  App,
  AppDetail,
  AuditEvent,
  CreatedApiToken,
  ConfigVar,
  CreatedJoinToken,
  Domain,
  Instance,
  Node,
  NodeDetail,
  PlatformStatus,
  ProcessFormation,
  Release,
  Invitation,
  InvitationPreview,
  Member,
  Session,
  Team,
} from "./types";

/** Query keys: the first element names the resource, so invalidating ["apps"] covers every apps list. */
export const keys = {
  session: ["session"] as const,
  teams: ["teams"] as const,
  team: (team: string) => ["teams", team] as const,
  members: (team: string) => ["members", team] as const,
  invitations: (team: string) => ["invitations", team] as const,
  apps: (team?: string) => (team ? (["apps", { team }] as const) : (["apps"] as const)),
  app: (app: string) => ["app", app] as const,
  tokens: ["tokens"] as const,
  audit: (team: string, filters: AuditFilters) => ["audit", team, filters] as const,
  invitation: (token: string) => ["invitation", token] as const,
  // Per-app resources sit under the app's key, so invalidating keys.app(app) refreshes all of them.
  releases: (app: string) => ["app", app, "releases"] as const,
  config: (app: string) => ["app", app, "config"] as const,
  formation: (app: string) => ["app", app, "formation"] as const,
  instances: (app: string) => ["app", app, "instances"] as const,
  activity: (app: string) => ["app", app, "activity"] as const,
  addons: (app: string) => ["app", app, "addons"] as const,
  addonInfo: (app: string, addon: string) => ["app", app, "addons", addon] as const,
  volumes: (app: string) => ["app", app, "volumes"] as const,
  nodes: ["nodes"] as const,
  node: (id: string) => ["nodes", id] as const,
  platformStatus: ["platform-status"] as const,
};

// ---- session -------------------------------------------------------------------------------------------------

/** The signed-in user, or null when signed out (401). */
export function useSession() {
  return useQuery({
    queryKey: keys.session,
    queryFn: async ({ signal }): Promise<Session | null> => {
      try {
        const s = await api<Session>("/session", { signal });
        setCsrfToken(s.csrfToken);
        return s;
      } catch (err) {
        if (isStatus(err, 401)) {
          setCsrfToken(null);
          return null;
        }
        throw err;
      }
    },
    staleTime: 60_000,
  });
}

/** Set while the user signs out on purpose, so the sign-in page is not told to "return" anywhere. */
export const signOutIntent = { current: false };

/** Forgets everything cached about the previous user and records the new session (or null). */
function switchUser(qc: QueryClient, s: Session | null) {
  if (s) signOutIntent.current = false;
  setCsrfToken(s?.csrfToken ?? null);
  qc.removeQueries({ predicate: (q) => q.queryKey[0] !== "session" });
  qc.setQueryData(keys.session, s);
}

/** Sign in with email and password. */
export function useLogin() {
  const qc = useQueryClient();
  return useMutation({
    mutationFn: (body: { email: string; password: string }) => api<Session>("/auth/login", { method: "POST", body }),
    onSuccess: (s) => switchUser(qc, s),
  });
}

/** Create an account and sign in. */
export function useSignup() {
  const qc = useQueryClient();
  return useMutation({
    mutationFn: (body: { email: string; password: string; name?: string }) =>
      api<Session>("/auth/signup", { method: "POST", body }),
    onSuccess: (s) => switchUser(qc, s),
  });
}

/** End the browser session and forget every cached resource. */
export function useLogout() {
  const qc = useQueryClient();
  return useMutation({
    mutationFn: () => api<void>("/auth/logout", { method: "POST" }),
    onMutate: () => {
      signOutIntent.current = true;
    },
    onError: () => {
      signOutIntent.current = false;
    },
    onSuccess: () => switchUser(qc, null),
  });
}

// ---- teams ---------------------------------------------------------------------------------------------------

/** Teams the user belongs to, with their role in each. */
export function useTeams(enabled = true) {
  return useQuery({ queryKey: keys.teams, queryFn: ({ signal }) => api<Team[]>("/teams", { signal }), enabled });
}

/** Create a team (the creator becomes owner). */
export function useCreateTeam() {
  const qc = useQueryClient();
  return useMutation({
    mutationFn: (name: string) => api<Team>("/teams", { method: "POST", body: { name } }),
    onSuccess: () => qc.invalidateQueries({ queryKey: keys.teams }),
  });
}

/** Members of a team. */
export function useMembers(team: string | undefined) {
  return useQuery({
    queryKey: keys.members(team ?? ""),
    queryFn: ({ signal }) => api<Member[]>(`/teams/${seg(team ?? "")}/members`, { signal }),
    enabled: Boolean(team),
  });
}

/** Pending invitations of a team (admins and owners only). */
export function useInvitations(team: string | undefined, enabled = true) {
  return useQuery({
    queryKey: keys.invitations(team ?? ""),
    queryFn: ({ signal }) => api<Invitation[]>(`/teams/${seg(team ?? "")}/invitations`, { signal }),
    enabled: Boolean(team) && enabled,
  });
}

/** Add a registered user, or invite an email that has no account yet. */
export function useAddMember(team: string) {
  const qc = useQueryClient();
  return useMutation({
    mutationFn: (body: { email: string; role: string }) =>
      api<AddMemberResult>(`/teams/${seg(team)}/members`, { method: "POST", body }),
    onSuccess: async () => {
      await Promise.all([
        qc.invalidateQueries({ queryKey: keys.members(team) }),
        qc.invalidateQueries({ queryKey: keys.invitations(team) }),
        qc.invalidateQueries({ queryKey: keys.teams }),
      ]);
    },
  });
}

/** Change a member's role. */
export function useChangeRole(team: string) {
  const qc = useQueryClient();
  return useMutation({
    mutationFn: (v: { member: string; role: string }) =>
      api<Member>(`/teams/${seg(team)}/members/${seg(v.member)}`, { method: "PATCH", body: { role: v.role } }),
    onSuccess: async () => {
      await Promise.all([
        qc.invalidateQueries({ queryKey: keys.members(team) }),
        qc.invalidateQueries({ queryKey: keys.teams }),
      ]);
    },
  });
}

/** Remove a member (or leave the team, for yourself). */
export function useRemoveMember(team: string) {
  const qc = useQueryClient();
  return useMutation({
    mutationFn: (member: string) => api<void>(`/teams/${seg(team)}/members/${seg(member)}`, { method: "DELETE" }),
    onSuccess: async () => {
      await Promise.all([
        qc.invalidateQueries({ queryKey: keys.members(team) }),
        qc.invalidateQueries({ queryKey: keys.teams }),
      ]);
    },
  });
}

/** Withdraw a pending invitation. */
export function useRevokeInvitation(team: string) {
  const qc = useQueryClient();
  return useMutation({
    mutationFn: (id: string) => api<void>(`/teams/${seg(team)}/invitations/${seg(id)}`, { method: "DELETE" }),
    onSuccess: () => qc.invalidateQueries({ queryKey: keys.invitations(team) }),
  });
}

/** What an invitation token is for (works signed out). */
export function useInvitationPreview(token: string) {
  return useQuery({
    queryKey: keys.invitation(token),
    queryFn: () => api<InvitationPreview>("/invitations/lookup", { method: "POST", body: { token } }),
    retry: false,
    staleTime: Infinity,
  });
}

/** Accept an invitation sent to the signed-in user's email. */
export function useAcceptInvitation() {
  const qc = useQueryClient();
  return useMutation({
    mutationFn: (token: string) =>
      api<{ team: string; role: string }>("/invitations/accept", { method: "POST", body: { token } }),
    onSuccess: () => qc.invalidateQueries({ queryKey: keys.teams }),
  });
}

// ---- apps ----------------------------------------------------------------------------------------------------

/** Apps of one team. */
export function useApps(team: string | undefined) {
  return useQuery({
    queryKey: keys.apps(team ?? ""),
    queryFn: ({ signal }) => api<App[]>(`/apps?team=${seg(team ?? "")}`, { signal }),
    enabled: Boolean(team),
  });
}

/** One app with its formation. */
export function useApp(app: string) {
  return useQuery({
    queryKey: keys.app(app),
    queryFn: ({ signal }) => api<AppDetail>(`/apps/${seg(app)}`, { signal }),
  });
}

/** Create an app in a team. */
export function useCreateApp() {
  const qc = useQueryClient();
  return useMutation({
    mutationFn: (body: { name: string; team: string }) => api<App>("/apps", { method: "POST", body }),
    onSuccess: async () => {
      await Promise.all([qc.invalidateQueries({ queryKey: ["apps"] }), qc.invalidateQueries({ queryKey: keys.teams })]);
    },
  });
}

/** Toggle maintenance mode or transfer the app to another team. */
export function useUpdateApp(app: string) {
  const qc = useQueryClient();
  return useMutation({
    mutationFn: (body: { maintenance?: boolean; team?: string }) =>
      api<App>(`/apps/${seg(app)}`, { method: "PATCH", body }),
    onSuccess: async (updated) => {
      qc.setQueryData<AppDetail>(keys.app(app), (old) => (old ? { ...old, ...updated } : old));
      await Promise.all([
        qc.invalidateQueries({ queryKey: keys.app(app) }),
        qc.invalidateQueries({ queryKey: ["apps"] }),
        qc.invalidateQueries({ queryKey: keys.teams }),
      ]);
    },
  });
}

/** Destroy an app. */
export function useDeleteApp(app: string) {
  const qc = useQueryClient();
  return useMutation({
    mutationFn: () => api<void>(`/apps/${seg(app)}`, { method: "DELETE" }),
    onSuccess: async () => {
      qc.removeQueries({ queryKey: keys.app(app) });
      await Promise.all([qc.invalidateQueries({ queryKey: ["apps"] }), qc.invalidateQueries({ queryKey: keys.teams })]);
    },
  });
}

// ---- tokens --------------------------------------------------------------------------------------------------

/** The user's API tokens (secrets are never returned here). */
export function useTokens() {
  return useQuery({ queryKey: keys.tokens, queryFn: ({ signal }) => api<ApiToken[]>("/tokens", { signal }) });
}

/** Create a token; the response carries the secret, once. */
export function useCreateToken() {
  const qc = useQueryClient();
  return useMutation({
    mutationFn: (body: { name: string; expiresInDays?: number }) =>
      api<CreatedApiToken>("/tokens", { method: "POST", body }),
    onSuccess: () => qc.invalidateQueries({ queryKey: keys.tokens }),
  });
}

/** Revoke a token (immediate). */
export function useRevokeToken() {
  const qc = useQueryClient();
  return useMutation({
    mutationFn: (id: string) => api<ApiToken>(`/tokens/${seg(id)}`, { method: "DELETE" }),
    onSuccess: () => qc.invalidateQueries({ queryKey: keys.tokens }),
  });
}

// ---- audit ---------------------------------------------------------------------------------------------------

export interface AuditFilters {
  action: string;
  app: string;
}

const AUDIT_PAGE = 50;

/** A team's audit log, newest first, paged with `before`. */
export function useAudit(team: string, filters: AuditFilters) {
  return useInfiniteQuery({
    queryKey: keys.audit(team, filters),
    initialPageParam: "",
    queryFn: ({ pageParam, signal }) => {
      const q = new URLSearchParams({ limit: String(AUDIT_PAGE) });
      if (filters.action) q.set("action", filters.action);
      if (filters.app) q.set("app", filters.app);
      if (pageParam) q.set("before", pageParam);
      return api<AuditEvent[]>(`/teams/${seg(team)}/audit?${q.toString()}`, { signal });
    },
    getNextPageParam: (last) => (last.length < AUDIT_PAGE ? undefined : last[last.length - 1]?.createdAt),
  });
}

// ---- app runtime: releases, config, formation, instances, activity -------------------------------------------

/** Releases of an app, newest first. */
export function useReleases(app: string) {
  return useQuery({
    queryKey: keys.releases(app),
    queryFn: ({ signal }) => api<Release[]>(`/apps/${seg(app)}/releases`, { signal }),
  });
}

/** Roll back: a new release from an earlier one's image and config (the previous one when no version is given). */
export function useRollback(app: string) {
  const qc = useQueryClient();
  return useMutation({
    mutationFn: (version?: number) =>
      api<Release>(`/apps/${seg(app)}/releases/rollback`, {
        method: "POST",
        body: version === undefined ? {} : { version },
      }),
    onSuccess: async () => {
      await Promise.all([
        qc.invalidateQueries({ queryKey: keys.app(app) }),
        qc.invalidateQueries({ queryKey: ["apps"] }),
      ]);
    },
  });
}

/** Config vars (secret-looking values masked for roles that may not reveal them). */
export function useConfigVars(app: string) {
  return useQuery({
    queryKey: keys.config(app),
    queryFn: ({ signal }) => api<ConfigVar[]>(`/apps/${seg(app)}/config`, { signal }),
  });
}

/** Sets and unsets config vars in one change (one release when the app has one). */
export function useChangeConfig(app: string) {
  const qc = useQueryClient();
  return useMutation({
    mutationFn: (body: { set: Record<string, string>; unset: string[] }) =>
      api<{ config: ConfigVar[]; release: number | null }>(`/apps/${seg(app)}/config`, { method: "PATCH", body }),
    onSuccess: async (res) => {
      qc.setQueryData(keys.config(app), res.config);
      await Promise.all([
        qc.invalidateQueries({ queryKey: keys.app(app) }),
        qc.invalidateQueries({ queryKey: ["apps"] }),
      ]);
    },
  });
}

/** Process types with quantity and limits. */
export function useFormation(app: string) {
  return useQuery({
    queryKey: keys.formation(app),
    queryFn: ({ signal }) => api<ProcessFormation[]>(`/apps/${seg(app)}/formation`, { signal }),
  });
}

/** Scales and resizes process types in one atomic change. */
export function useChangeFormation(app: string) {
  const qc = useQueryClient();
  return useMutation({
    mutationFn: (updates: ({ type: string } & Partial<Omit<ProcessFormation, "type">>)[]) =>
      api<ProcessFormation[]>(`/apps/${seg(app)}/formation`, { method: "PATCH", body: { updates } }),
    onSuccess: async (formation) => {
      qc.setQueryData(keys.formation(app), formation);
      qc.setQueryData<AppDetail>(keys.app(app), (old) => (old ? { ...old, formation } : old));
      await qc.invalidateQueries({ queryKey: keys.app(app) });
    },
  });
}

/** The app's instances; `poll` refetches on a timer (when the live stream is not connected). */
export function useInstances(app: string, poll: number | false = false) {
  return useQuery({
    queryKey: keys.instances(app),
    queryFn: ({ signal }) => api<Instance[]>(`/apps/${seg(app)}/instances`, { signal }),
    refetchInterval: poll,
  });
}

/** Restarts every instance of the app, or of one process type. */
export function useRestart(app: string) {
  const qc = useQueryClient();
  return useMutation({
    mutationFn: (processType?: string) =>
      api<{ restarting: number }>(`/apps/${seg(app)}/restart`, {
        method: "POST",
        body: processType ? { processType } : {},
      }),
    onSuccess: () => qc.invalidateQueries({ queryKey: keys.instances(app) }),
  });
}

const ACTIVITY_PAGE = 50;

/** The app's timeline, newest first, paged with the last event's id. */
export function useActivity(app: string) {
  return useInfiniteQuery({
    queryKey: keys.activity(app),
    initialPageParam: "",
    queryFn: ({ pageParam, signal }) => {
      const q = new URLSearchParams({ limit: String(ACTIVITY_PAGE) });
      if (pageParam) q.set("before", pageParam);
      return api<ActivityItem[]>(`/apps/${seg(app)}/activity?${q.toString()}`, { signal });
    },
    getNextPageParam: (last) => (last.length < ACTIVITY_PAGE ? undefined : last[last.length - 1]?.id),
  });
}

// ---- nodes ---------------------------------------------------------------------------------------------------

/** Nodes the user may see (instance admin: all; team admins: their teams'). */
export function useNodes() {
  return useQuery({
    queryKey: keys.nodes,
    queryFn: ({ signal }) => api<Node[]>("/nodes", { signal }),
    refetchInterval: 30_000,
  });
}

/** One node with the instances it reports. */
export function useNode(id: string, enabled = true) {
  return useQuery({
    queryKey: keys.node(id),
    queryFn: ({ signal }) => api<NodeDetail>(`/nodes/${seg(id)}`, { signal }),
    enabled,
    refetchInterval: 30_000,
  });
}

/** Creates a node join token (team admin for a team, instance admin for a shared node); the secret comes once. */
export function useCreateJoinToken() {
  return useMutation({
    mutationFn: (body: { name: string; team?: string; expiresInDays?: number }) =>
      api<CreatedJoinToken>("/nodes/join-tokens", { method: "POST", body }),
  });
}

/** Cordons, uncordons or drains a node (node admins); refreshes the node list and the node. */
export function useNodeAction(id: string) {
  const qc = useQueryClient();
  return useMutation({
    mutationFn: (action: "cordon" | "uncordon" | "drain") =>
      api<{ name: string; cordoned: boolean; moving?: number }>(`/nodes/${seg(id)}/${action}`, { method: "POST" }),
    onSettled: () => void qc.invalidateQueries({ queryKey: keys.nodes }),
  });
}

/** Removes a node (node admins): its agent is disconnected and its instances start elsewhere; refreshes the list. */
export function useRemoveNode(id: string) {
  const qc = useQueryClient();
  return useMutation({
    mutationFn: () =>
      api<{ id: string; name: string; instances: number; disconnected: boolean }>(`/nodes/${seg(id)}`, {
        method: "DELETE",
      }),
    onSuccess: () => qc.removeQueries({ queryKey: keys.node(id) }),
    onSettled: () => void qc.invalidateQueries({ queryKey: keys.nodes }),
  });
}

// ---- domains ---------------------------------------------------------------------------------------------------

/** A custom domain of an app, the CNAME target to point DNS at and the TXT record that proves control of it. */
export type AppDomain = Domain;

/** The app's custom domains. */
export function useDomains(app: string) {
  return useQuery({
    queryKey: ["app", app, "domains"] as const,
    queryFn: ({ signal }) => api<AppDomain[]>(`/apps/${seg(app)}/domains`, { signal }),
  });
}

/** Adds, verifies or removes a custom domain (team admins and owners); refreshes the list. */
export function useDomainChange(app: string) {
  const qc = useQueryClient();
  return useMutation({
    mutationFn: async (c: { add: string } | { verify: string } | { remove: string }): Promise<AppDomain | null> => {
      if ("add" in c) return api<AppDomain>(`/apps/${seg(app)}/domains`, { method: "POST", body: { hostname: c.add } });
      if ("verify" in c) {
        return api<AppDomain>(`/apps/${seg(app)}/domains/${seg(c.verify)}/verify`, { method: "POST" });
      }
      await api<void>(`/apps/${seg(app)}/domains/${seg(c.remove)}`, { method: "DELETE" });
      return null;
    },
    onSettled: () => void qc.invalidateQueries({ queryKey: ["app", app, "domains"] }),
  });
}

// ---- platform status (instance admin) ---------------------------------------------------------------------------

/** Platform components and their state; polled every few seconds, since a crashed component is back within seconds. */
export function usePlatformStatus(enabled = true) {
  return useQuery({
    queryKey: keys.platformStatus,
    queryFn: ({ signal }) => api<PlatformStatus>("/admin/status", { signal }),
    enabled,
    refetchInterval: 5_000,
    // A 403 will not change by asking again.
    retry: (count, err) => !isStatus(err, 403) && count < 2,
  });
}

// ---- resources: add-ons and volumes -----------------------------------------------------------------------------

/** States an add-on passes through on its own; the list polls while one is in them. */
const TRANSIENT_ADDON_STATES = new Set(["provisioning", "deprovisioning"]);

/** The app's add-ons; polled every 2 s while one is provisioning or deprovisioning (no event marks the change). */
export function useAddons(app: string) {
  return useQuery({
    queryKey: keys.addons(app),
    queryFn: ({ signal }) => api<Addon[]>(`/apps/${seg(app)}/addons`, { signal }),
    refetchInterval: (q) => (q.state.data?.some((a) => TRANSIENT_ADDON_STATES.has(a.state)) ? 2000 : false),
  });
}

/** One add-on's info with its live figures (connections, data size); refreshed every 10 s while shown. */
export function useAddonInfo(app: string, addon: string, enabled: boolean) {
  return useQuery({
    queryKey: keys.addonInfo(app, addon),
    queryFn: ({ signal }) => api<AddonInfo>(`/apps/${seg(app)}/addons/${seg(addon)}`, { signal }),
    enabled,
    refetchInterval: 10_000,
  });
}

/** Provisions an add-on (member and above); it answers at once with state provisioning. */
export function useCreateAddon(app: string) {
  const qc = useQueryClient();
  return useMutation({
    mutationFn: (body: { kind: string; plan: string }) =>
      api<Addon>(`/apps/${seg(app)}/addons`, { method: "POST", body }),
    onSuccess: (created) => {
      qc.setQueryData<Addon[]>(keys.addons(app), (old) =>
        old
          ? [...old.filter((a) => a.name !== created.name), created].sort((a, b) => a.name.localeCompare(b.name))
          : old,
      );
      void qc.invalidateQueries({ queryKey: keys.app(app) });
    },
  });
}

/** Destroys an add-on and its data (member and above): its service, volume and config var (one release). */
export function useDestroyAddon(app: string) {
  const qc = useQueryClient();
  return useMutation({
    mutationFn: (name: string) => api<void>(`/apps/${seg(app)}/addons/${seg(name)}`, { method: "DELETE" }),
    onSuccess: (_r, name) => {
      qc.setQueryData<Addon[]>(keys.addons(app), (old) => old?.filter((a) => a.name !== name));
      void qc.invalidateQueries({ queryKey: keys.app(app) });
    },
  });
}

/** The app's persistent volumes. */
export function useVolumes(app: string) {
  return useQuery({
    queryKey: keys.volumes(app),
    queryFn: ({ signal }) => api<Volume[]>(`/apps/${seg(app)}/volumes`, { signal }),
  });
}

/**
 * Creates a volume (admin and above, like `berth volumes:create`): the process type's instances are replaced
 * stop-then-start to mount it, so the app's instances and formation are refreshed too.
 */
export function useCreateVolume(app: string) {
  const qc = useQueryClient();
  return useMutation({
    mutationFn: (body: { name: string; sizeMb: number; mountPath: string; processType: string }) =>
      api<Volume>(`/apps/${seg(app)}/volumes`, { method: "POST", body }),
    onSuccess: (created) => {
      qc.setQueryData<Volume[]>(keys.volumes(app), (old) =>
        old
          ? [...old.filter((v) => v.name !== created.name), created].sort((a, b) => a.name.localeCompare(b.name))
          : old,
      );
      void qc.invalidateQueries({ queryKey: keys.volumes(app) });
      void qc.invalidateQueries({ queryKey: keys.app(app) });
    },
  });
}

/** Destroys a volume and its data (admin and above; 409 while an instance mounts it). */
export function useDestroyVolume(app: string) {
  const qc = useQueryClient();
  return useMutation({
    mutationFn: (name: string) => api<void>(`/apps/${seg(app)}/volumes/${seg(name)}`, { method: "DELETE" }),
    onSuccess: (_r, name) => {
      qc.setQueryData<Volume[]>(keys.volumes(app), (old) => old?.filter((v) => v.name !== name));
      void qc.invalidateQueries({ queryKey: keys.volumes(app) });
    },
  });
}
