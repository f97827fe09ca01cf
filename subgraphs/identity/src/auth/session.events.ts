// Tells every gateway that sessions ended, so their access tokens stop working before they expire.
import type { Logger } from '@citadel/kit/logger';
import type { PubSub } from '@citadel/kit/pubsub';

export const SESSIONS_REVOKED_CHANNEL = 'identity.sessions.revoked';

export interface SessionsRevoked {
  userId: string;
  sessionIds: string[];
  reason: string;
}

export class SessionEvents {
  constructor(
    private readonly pubsub: PubSub,
    private readonly logger: Logger,
  ) {}

  /** Published after the revocation committed. A lost message is caught up by the gateways' poll. */
  async revoked(event: SessionsRevoked): Promise<void> {
    try {
      await this.pubsub.publish(SESSIONS_REVOKED_CHANNEL, event);
    } catch (error) {
      this.logger.warn({ err: error, sessions: event.sessionIds.length }, 'could not publish a session revocation');
    }
  }
}
