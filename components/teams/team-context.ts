// The team page's params, shared by its pages.
import { useParams } from "next/navigation";

/** The team name from the URL (/teams/[team]/...). */
export function useTeamName(): string {
  const params = useParams<{ team: string }>();
  return decodeURIComponent(params.team ?? "");
}
