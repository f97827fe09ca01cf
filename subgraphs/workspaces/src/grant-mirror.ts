// Mirrors memberships into authz as scoped grants (`workspace-owner` in `workspace:<id>`), after the
// change committed here. This subgraph decides from its own members table, so authz being slow or
// down delays only what other services see; requests here never wait for it.
import type { ScopedGrant } from '@citadel/kit/authz-client';
import type { Logger } from 'pino';

/** What the mirror needs from authz: AuthzClient in production, a recorder in tests. */
export interface ScopedGrantSink {
  setGrants(changes: { grant?: ScopedGrant[]; revoke?: ScopedGrant[] }): Promise<void>;
}

export interface GrantChanges {
  grant?: ScopedGrant[];
  revoke?: ScopedGrant[];
}

const ATTEMPTS = 4;

export class GrantMirror {
  // One queue: a revoke sent after a grant for the same user must not overtake it.
  private queue: Promise<void> = Promise.resolve();

  constructor(
    private readonly sink: ScopedGrantSink,
    private readonly logger: Logger,
    private readonly retryBaseMs = 250,
  ) {}

  /** Queues the changes; returns at once. */
  push(changes: GrantChanges): void {
    if (!changes.grant?.length && !changes.revoke?.length) return;
    this.queue = this.queue.then(() => this.send(changes));
  }

  /** Resolves when everything queued so far was sent or given up on (tests, shutdown). */
  settled(): Promise<void> {
    return this.queue;
  }

  private async send(changes: GrantChanges): Promise<void> {
    for (let attempt = 1; ; attempt++) {
      try {
        await this.sink.setGrants(changes);
        return;
      } catch (error) {
        if (attempt >= ATTEMPTS) {
          // Not lost for this subgraph (the members table decides here); authz's copy is stale
          // until the membership changes again. See docs/workspaces.md, "Not built yet".
          this.logger.error({ err: error, changes }, 'could not mirror workspace memberships to authz');
          return;
        }
        await new Promise((resolve) => setTimeout(resolve, this.retryBaseMs * 2 ** (attempt - 1)));
      }
    }
  }
}
