// Access to an exec session is not checked once and trusted: a revoked token, an ended browser session, a changed
// membership, a destroyed or moved app end the session at once (AccessEvents), and every REVALIDATE_MS all sessions
// are checked again against the database (a change made by another process, an expired token).
import type { Services } from "../context.ts";
import { requireApp } from "../teams/access.ts";
import { credentialKey, liveCredentials } from "../ws/stream-auth.ts";
import { EXEC_CLOSE, type ExecOutcome, type ExecSession } from "./exec-types.ts";

/** How often every session's credential and role are re-checked against the database. */
export const REVALIDATE_MS = 60_000;

/** Ends the broker's sessions whose caller lost access; owned by the broker, stopped with it. */
export class ExecAccessGuard {
  private readonly revalidator: NodeJS.Timeout;

  constructor(
    private readonly s: Pick<Services, "db" | "log" | "access">,
    /** The open sessions, read at each check. */
    private readonly sessions: () => Iterable<ExecSession>,
    /** Ends a session and kills its process. */
    private readonly end: (x: ExecSession, outcome: ExecOutcome) => void,
  ) {
    s.access.on("tokenRevoked", this.onTokenRevoked);
    s.access.on("sessionEnded", this.onSessionEnded);
    s.access.on("membershipChanged", this.onMembershipChanged);
    s.access.on("appDestroyed", this.onAppChanged);
    s.access.on("appTeamChanged", this.onAppChanged);
    this.revalidator = setInterval(() => void this.revalidate(), REVALIDATE_MS);
    this.revalidator.unref();
  }

  close(): void {
    clearInterval(this.revalidator);
    this.s.access.off("tokenRevoked", this.onTokenRevoked);
    this.s.access.off("sessionEnded", this.onSessionEnded);
    this.s.access.off("membershipChanged", this.onMembershipChanged);
    this.s.access.off("appDestroyed", this.onAppChanged);
    this.s.access.off("appTeamChanged", this.onAppChanged);
  }

  /** Re-checks the credential and role of every session `filter` selects now (also runs every REVALIDATE_MS). */
  async revalidate(filter: (x: ExecSession) => boolean = () => true): Promise<void> {
    const held = [...this.sessions()].filter((x) => !x.ended && filter(x));
    if (held.length === 0) return;
    const live = await liveCredentials(
      this.s.db,
      held.map((x) => x.credential),
    );
    for (const x of held) {
      if (!live.has(credentialKey(x.credential))) {
        this.end(x, { reason: "your credential was revoked or expired", closeCode: EXEC_CLOSE.credentialEnded });
        continue;
      }
      const allowed = await requireApp(this.s.db, x.actor, x.appName, "app:exec").then(
        ({ app }) => app.id === x.appId,
        () => false,
      );
      if (!allowed) this.end(x, { reason: "you no longer have access to this app", closeCode: EXEC_CLOSE.accessEnded });
    }
  }

  private readonly onTokenRevoked = (tokenId: string): void => {
    for (const x of this.sessions())
      if (x.credential.kind === "token" && x.credential.id === tokenId)
        this.end(x, { reason: "your API token was revoked", closeCode: EXEC_CLOSE.credentialEnded });
  };

  private readonly onSessionEnded = (sessionId: string): void => {
    for (const x of this.sessions())
      if (x.credential.kind === "session" && x.credential.id === sessionId)
        this.end(x, { reason: "you were signed out", closeCode: EXEC_CLOSE.credentialEnded });
  };

  private readonly onMembershipChanged = (teamId: string, userId: string): void => {
    this.recheck((x) => x.teamId === teamId && x.actor.userId === userId);
  };

  private readonly onAppChanged = (appId: string): void => {
    this.recheck((x) => x.appId === appId);
  };

  private recheck(filter: (x: ExecSession) => boolean): void {
    this.revalidate(filter).catch((err: unknown) => this.s.log.error({ err }, "re-checking exec sessions failed"));
  }
}
