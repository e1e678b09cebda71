// The current team as pages see it: the teams query plus the choice remembered in localStorage.
import { resolveTeam, useStoredTeam } from "./current-team";
import { useTeams } from "./queries";

/** Teams, the current team (undefined while loading or when the user has none) and a setter. */
export function useCurrentTeam() {
  const teams = useTeams();
  const [stored, setTeam] = useStoredTeam();
  return { teams, team: resolveTeam(teams.data, stored), setTeam };
}
