import { redirect } from "next/navigation";

/** /teams/NAME has no page of its own: members is the team's front page. */
export default async function TeamPage({ params }: { params: Promise<{ team: string }> }) {
  const { team } = await params;
  redirect(`/teams/${encodeURIComponent(decodeURIComponent(team))}/members`);
}
