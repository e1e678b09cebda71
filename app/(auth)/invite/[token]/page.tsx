"use client";
import Link from "next/link";
import { useParams, useRouter } from "next/navigation";
import { MailX, Users } from "lucide-react";
import { AuthCard } from "@/components/auth-card";
import { Badge } from "@/components/ui/badge";
import { Button, buttonClasses } from "@/components/ui/button";
import { FormError } from "@/components/ui/error-state";
import { Skeleton } from "@/components/ui/skeleton";
import { useToast } from "@/components/ui/toast";
import { TeamAvatar } from "@/components/team-switcher";
import { errorMessage, isStatus } from "@/lib/api";
import { rememberTeam } from "@/lib/current-team";
import { relativeTime, titleCase } from "@/lib/format";
import { useAcceptInvitation, useInvitationPreview, useLogout, useSession } from "@/lib/queries";

/** Accept an invitation: shows which team and role, then accepts for the matching signed-in user. */
export default function InvitePage() {
  const params = useParams<{ token: string }>();
  const token = decodeURIComponent(params.token ?? "");
  const preview = useInvitationPreview(token);
  const session = useSession();
  const accept = useAcceptInvitation();
  const logout = useLogout();
  const router = useRouter();
  const toast = useToast();

  if (preview.isError) {
    const gone = isStatus(preview.error, 404) || isStatus(preview.error, 422) || isStatus(preview.error, 409);
    return (
      <AuthCard title="Invitation not available">
        <title>Invitation · Berth</title>
        <div role="alert" className="flex items-start gap-3 text-sm text-zinc-600">
          <MailX aria-hidden className="mt-0.5 size-5 shrink-0 text-zinc-400" />
          <p>
            {gone
              ? "This invitation link is invalid, was already used, or has expired. Ask a team admin to invite you again."
              : errorMessage(preview.error)}
          </p>
        </div>
        <Link href="/apps" className={buttonClasses("secondary", "md", "mt-6 w-full")}>
          Go to the dashboard
        </Link>
      </AuthCard>
    );
  }

  if (preview.isPending || session.isPending) {
    return (
      <AuthCard title="Team invitation">
        <div role="status" aria-label="Loading invitation" className="space-y-3">
          <Skeleton className="h-12 w-full" />
          <Skeleton className="h-4 w-3/4" />
          <Skeleton className="h-9 w-full" />
        </div>
      </AuthCard>
    );
  }

  const inv = preview.data;
  const user = session.data?.user;
  const next = `/invite/${encodeURIComponent(token)}`;
  const withEmail = `next=${encodeURIComponent(next)}&email=${encodeURIComponent(inv.email)}`;

  return (
    <AuthCard title={`Join ${inv.team}`} description="You have been invited to a team on Berth.">
      <title>{`Join ${inv.team} · Berth`}</title>
      <div className="flex items-center gap-3 rounded-lg border border-zinc-200 bg-zinc-50 p-3">
        <TeamAvatar name={inv.team} className="size-10 text-base" />
        <div className="min-w-0">
          <p className="truncate font-medium text-zinc-900">{inv.team}</p>
          <p className="text-[13px] text-zinc-500">
            as <Badge tone="blue">{titleCase(inv.role)}</Badge>
          </p>
        </div>
      </div>
      <dl className="mt-4 space-y-1 text-sm">
        <div className="flex justify-between gap-3">
          <dt className="text-zinc-500">For</dt>
          <dd className="truncate font-medium text-zinc-900">{inv.email}</dd>
        </div>
        <div className="flex justify-between gap-3">
          <dt className="text-zinc-500">Expires</dt>
          <dd className="text-zinc-900">{relativeTime(inv.expiresAt)}</dd>
        </div>
      </dl>

      <div className="mt-6 space-y-3">
        {!user ? (
          <>
            <Link href={`/login?${withEmail}`} className={buttonClasses("primary", "md", "w-full")}>
              Sign in to accept
            </Link>
            <Link href={`/signup?${withEmail}`} className={buttonClasses("secondary", "md", "w-full")}>
              Create an account
            </Link>
            <p className="text-center text-[13px] text-zinc-500">
              Use {inv.email}: the invitation only works for that address.
            </p>
          </>
        ) : user.email === inv.email ? (
          <>
            <FormError error={accept.error} />
            <Button
              className="w-full"
              loading={accept.isPending || accept.isSuccess}
              onClick={() =>
                accept.mutate(token, {
                  onSuccess: (r) => {
                    rememberTeam(r.team);
                    toast({ title: `Welcome to ${r.team}`, description: `You joined as ${r.role}.` });
                    router.push("/apps");
                  },
                })
              }
            >
              <Users aria-hidden className="size-4" />
              Accept and join {inv.team}
            </Button>
          </>
        ) : (
          <>
            <div
              role="status"
              className="rounded-md border border-amber-200 bg-amber-50 px-3 py-2.5 text-sm text-amber-900"
            >
              You are signed in as <strong className="font-medium">{user.email}</strong>, but this invitation is for{" "}
              <strong className="font-medium">{inv.email}</strong>. Sign out and sign in with that address to accept it.
            </div>
            <FormError error={logout.error} />
            <Button variant="secondary" className="w-full" loading={logout.isPending} onClick={() => logout.mutate()}>
              Sign out
            </Button>
          </>
        )}
      </div>
    </AuthCard>
  );
}
