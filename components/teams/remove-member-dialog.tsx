"use client";
import { useRouter } from "next/navigation";
import { ConfirmDialog } from "@/components/ui/confirm-dialog";
import { useToast } from "@/components/ui/toast";
import { useRemoveMember, useTeams } from "@/lib/queries";
import type { Member } from "@/lib/types";

/** Confirms removing `member` from the team, or leaving it when it is the user. */
export function RemoveMemberDialog({
  team,
  member,
  isSelf,
  onClose,
}: {
  team: string;
  member: Member | null;
  isSelf: boolean;
  onClose: () => void;
}) {
  const remove = useRemoveMember(team);
  const toast = useToast();
  const router = useRouter();
  const teams = useTeams();
  const close = () => {
    remove.reset();
    onClose();
  };
  return (
    <ConfirmDialog
      open={member !== null}
      onClose={close}
      title={isSelf ? `Leave ${team}?` : `Remove ${member?.email ?? ""}?`}
      description={
        isSelf
          ? "You lose access to the team's apps until someone invites you again."
          : "They lose access to the team's apps right away."
      }
      confirmLabel={isSelf ? "Leave team" : "Remove"}
      pending={remove.isPending}
      error={remove.error}
      onConfirm={() =>
        member &&
        remove.mutate(member.id, {
          onSuccess: () => {
            onClose();
            if (isSelf) {
              toast({ title: `You left ${team}` });
              void teams.refetch();
              router.replace("/apps");
            } else toast({ title: `Removed ${member.email}` });
          },
        })
      }
    />
  );
}
