// The team the dashboard is looking at: chosen in the top bar, remembered in localStorage per browser.
import { useCallback, useSyncExternalStore } from "react";
import type { Team } from "./types";

const STORAGE_KEY = "berth.team";
const CHANGE_EVENT = "berth:team-change";

function read(): string | null {
  try {
    return window.localStorage.getItem(STORAGE_KEY);
  } catch {
    return null; // storage disabled: the choice just is not remembered
  }
}

function subscribe(onChange: () => void): () => void {
  const onStorage = (e: StorageEvent) => {
    if (e.key === STORAGE_KEY) onChange();
  };
  window.addEventListener("storage", onStorage);
  window.addEventListener(CHANGE_EVENT, onChange);
  return () => {
    window.removeEventListener("storage", onStorage);
    window.removeEventListener(CHANGE_EVENT, onChange);
  };
}

/** Remembers `name` as the current team. */
export function rememberTeam(name: string): void {
  try {
    window.localStorage.setItem(STORAGE_KEY, name);
  } catch {
    // ignore: see read()
  }
  window.dispatchEvent(new Event(CHANGE_EVENT));
}

/** The stored team name (null on the server and before anything was chosen). */
export function useStoredTeam(): [string | null, (name: string) => void] {
  const stored = useSyncExternalStore(subscribe, read, () => null);
  const set = useCallback((name: string) => rememberTeam(name), []);
  return [stored, set];
}

/** Picks the current team: the stored one if still a member, else the personal team, else the first. */
export function resolveTeam(teams: readonly Team[] | undefined, stored: string | null): Team | undefined {
  if (!teams || teams.length === 0) return undefined;
  return teams.find((t) => t.name === stored) ?? teams.find((t) => t.personal) ?? teams[0];
}
