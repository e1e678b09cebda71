"use client";
import { useAppName } from "@/components/apps/app-context";
import { BuildHistory } from "@/components/deploy/build-history";
import { DeployImageForm } from "@/components/deploy/deploy-image-form";
import { GitInstructions } from "@/components/deploy/git-instructions";
import { atLeast } from "@/lib/roles";
import { useApp, useSession } from "@/lib/queries";
import { useAppEvents } from "@/lib/stream";

/** Deploy tab: the git remote and push, deploying an image by reference, and builds with their (live) output. */
export default function DeployPage() {
  const name = useAppName();
  const app = useApp(name);
  const session = useSession();
  // The header's status and the build list follow the rollout a push starts.
  useAppEvents(name);
  if (app.isError) return null; // the layout shows the error
  const role = app.data?.role;

  return (
    <div className="space-y-6">
      <GitInstructions
        gitUrl={app.data?.gitUrl}
        email={session.data?.user.email}
        canPush={role === undefined || atLeast(role, "member")}
      />
      <BuildHistory app={name} />
      <DeployImageForm app={name} role={role} />
    </div>
  );
}
