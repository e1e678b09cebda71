// How to deploy with git: the remote to add and the push, each copied with one click.
"use client";
import Link from "next/link";
import { KeyRound } from "lucide-react";
import { Card, CardHeader } from "@/components/ui/card";
import { CopyField } from "@/components/ui/copy-button";
import { Skeleton } from "@/components/ui/skeleton";

function Step({ n, title, children }: { n: number; title: string; children: React.ReactNode }) {
  return (
    <li className="group relative flex gap-4 pb-6 last:pb-0">
      <span aria-hidden className="absolute top-8 bottom-0 left-3.5 w-px bg-zinc-200 group-last:hidden" />
      <span className="z-10 flex size-7 shrink-0 items-center justify-center rounded-full border border-zinc-300 bg-white text-xs font-semibold text-zinc-700">
        {n}
      </span>
      <div className="min-w-0 flex-1 pt-0.5">
        <h3 className="text-sm font-medium text-zinc-900">{title}</h3>
        <div className="mt-2">{children}</div>
      </div>
    </li>
  );
}

export function GitInstructions({
  gitUrl,
  email,
  canPush,
}: {
  gitUrl: string | undefined;
  email: string | undefined;
  canPush: boolean;
}) {
  return (
    <Card>
      <CardHeader
        title="Deploy with git"
        description="Push a repository with a Dockerfile, a package.json, an index.html or a Procfile; Berth builds it and starts a new release."
      />
      <ol className="px-5 py-5">
        <Step n={1} title="Add Berth as a git remote">
          {gitUrl ? (
            <div className="space-y-2">
              <CopyField
                tone="dark"
                prompt="$"
                value={`git remote add berth ${gitUrl}`}
                label="Copy git remote command"
                testId="git-remote-command"
              />
              <p className="flex flex-wrap items-center gap-x-2 text-[13px] text-zinc-500">
                Remote URL
                <span className="min-w-0 flex-1">
                  <CopyField value={gitUrl} label="Copy git remote URL" testId="git-remote-url" />
                </span>
              </p>
            </div>
          ) : (
            <Skeleton className="h-10 w-full" />
          )}
        </Step>
        <Step n={2} title="Push your code">
          <CopyField
            tone="dark"
            prompt="$"
            value="git push berth main"
            label="Copy push command"
            testId="git-push-command"
          />
          {!canPush ? (
            <p className="mt-2 text-[13px] text-zinc-500">Your role can fetch from this remote but not push to it.</p>
          ) : null}
        </Step>
        <Step n={3} title="Sign in when git asks">
          <p className="text-sm text-zinc-600">
            Username:{" "}
            <code className="rounded bg-zinc-100 px-1.5 py-0.5 font-mono text-[13px] text-zinc-800">
              {email ?? "your email"}
            </code>
            . Password: an{" "}
            <Link
              href="/tokens"
              className="inline-flex items-center gap-1 font-medium text-zinc-900 underline underline-offset-4"
            >
              <KeyRound aria-hidden className="size-3.5" />
              API token
            </Link>
            , not your account password.
          </p>
        </Step>
      </ol>
    </Card>
  );
}
