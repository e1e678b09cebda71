// In-process notices that someone's access just shrank. Whatever holds access granted earlier (today: the live
// stream subscriptions of server/ws/stream.ts) listens and re-checks at once instead of trusting an old answer.
// Emitted by the domain function right after its database change is committed; listeners must re-read the
// database rather than trust the notice (it says what changed, not what is allowed now).
// Another control-plane process does not see these: listeners also re-check periodically.
import { EventEmitter } from "node:events";
import type { Logger } from "../logger.ts";

/** Each access change and its arguments. */
export interface AccessEventMap {
  /** An API token was revoked (by id). */
  tokenRevoked: [tokenId: string];
  /** A browser session ended: signed out, or every session of a user revoked (by id). */
  sessionEnded: [sessionId: string];
  /** A user's membership of a team was removed or its role changed. */
  membershipChanged: [teamId: string, userId: string];
  /** An app was destroyed (by id; a new app may take its name). */
  appDestroyed: [appId: string];
  /** An app moved to another team: the old team's members may have lost it. */
  appTeamChanged: [appId: string];
}

export type AccessEventName = keyof AccessEventMap;

/** A typed emitter of access changes, one per control plane (on Services). */
export class AccessEvents {
  private readonly emitter = new EventEmitter<AccessEventMap>();

  constructor(private readonly log: Logger) {}

  /** Listens to one kind of change. */
  on<K extends AccessEventName>(event: K, listener: (...args: AccessEventMap[K]) => void): void {
    this.emitter.on(event, listener as never);
  }

  /** Stops listening. */
  off<K extends AccessEventName>(event: K, listener: (...args: AccessEventMap[K]) => void): void {
    this.emitter.off(event, listener as never);
  }

  /**
   * Tells every listener; never throws. The change is already committed when this is called, so a failing
   * listener must not turn the caller's success into an error answer: it is logged (and the periodic re-check of
   * the listener covers what it missed).
   */
  emit<K extends AccessEventName>(event: K, ...args: AccessEventMap[K]): void {
    for (const listener of this.emitter.listeners(event)) {
      try {
        (listener as (...a: AccessEventMap[K]) => void)(...args);
      } catch (err) {
        this.log.error({ err, event }, "an access-change listener failed");
      }
    }
  }
}
