// In-flight pushes: the git endpoint registers one per receive-pack request; the pre-receive hook calls back
// with its secret. Secrets live only in memory and only for the duration of the push.
import crypto from "node:crypto";
import type { Actor } from "../context.ts";

export interface PushSession {
  id: string;
  secret: string;
  app: string;
  repoDir: string;
  actor: Actor;
  /** Settles when the receive-pack request is over (git has updated the ref, or refused to). */
  done: Promise<void>;
}

export class PushSessions {
  private readonly bySecret = new Map<string, PushSession>();

  /** Registers a push and returns its session (with the secret to hand to the hook). */
  private readonly finishers = new Map<string, () => void>();

  open(app: string, repoDir: string, actor: Actor): PushSession {
    let finish!: () => void;
    const done = new Promise<void>((resolve) => (finish = resolve));
    const s: PushSession = {
      id: crypto.randomUUID(),
      secret: crypto.randomBytes(32).toString("base64url"),
      app,
      repoDir,
      actor,
      done,
    };
    this.bySecret.set(s.secret, s);
    this.finishers.set(s.secret, finish);
    return s;
  }

  /** Looks a push up by the secret the hook presents. */
  find(secret: string): PushSession | undefined {
    return this.bySecret.get(secret);
  }

  /** Forgets a push once its receive-pack request is over. */
  close(s: PushSession): void {
    this.bySecret.delete(s.secret);
    this.finishers.get(s.secret)?.();
    this.finishers.delete(s.secret);
  }
}
