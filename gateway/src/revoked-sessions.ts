// Which sessions have ended, so their unexpired access tokens are refused. Pushed by identity over
// pubsub (Redis: every gateway node, in well under a second) and pulled every `pollMs` from
// identity's /internal/revoked-sessions (catches up after a restart, a lost message, or no Redis).
import type { InternalTokenMinter } from '@citadel/kit/auth';
import { ANONYMOUS } from '@citadel/kit/auth';
import type { Logger } from '@citadel/kit/logger';
import type { PubSub, Unsubscribe } from '@citadel/kit/pubsub';

export const SESSIONS_REVOKED_CHANNEL = 'identity.sessions.revoked';
/** Rows revoked in a transaction that committed late may carry an earlier time: re-read a margin. */
const OVERLAP_MS = 5_000;

export interface RevokedSessionsOptions {
  identityUrl: string;
  minter: InternalTokenMinter;
  pubsub: PubSub;
  logger: Logger;
  pollMs: number;
  /** The oldest access token the gateway accepts: a revocation is kept this long, then forgotten. */
  retainMs: number;
}

interface Page {
  sessions: { id: string; revokedAt: string }[];
  more: boolean;
}

export class RevokedSessions {
  private readonly revoked = new Map<string, number>();
  private cursor: number;
  private timer: NodeJS.Timeout | undefined;
  private unsubscribe: Unsubscribe | undefined;
  private syncedOnce = false;
  private readonly listeners = new Set<(sessionIds: string[]) => void>();

  constructor(private readonly options: RevokedSessionsOptions) {
    this.cursor = Date.now() - options.retainMs;
  }

  isRevoked(sessionId: string): boolean {
    return this.revoked.has(sessionId);
  }

  /** Told of sessions newly known to be revoked (open subscriptions end at once). */
  onRevoked(listener: (sessionIds: string[]) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** True once a catch-up read succeeded: before that, revoked tokens could slip through. */
  get ready(): boolean {
    return this.syncedOnce;
  }

  async start(): Promise<void> {
    this.unsubscribe = await this.options.pubsub.subscribe(SESSIONS_REVOKED_CHANNEL, (message) => {
      const ids = (message as { sessionIds?: unknown }).sessionIds;
      if (Array.isArray(ids)) this.add(ids.filter((id): id is string => typeof id === 'string'));
    });
    const tick = async () => {
      await this.sync();
      // Until the first read succeeds (identity may still be starting), retry soon.
      this.timer = setTimeout(() => void tick(), this.syncedOnce ? this.options.pollMs : Math.min(500, this.options.pollMs));
      this.timer.unref();
    };
    await tick();
  }

  async stop(): Promise<void> {
    clearTimeout(this.timer);
    await this.unsubscribe?.();
  }

  private add(ids: string[]): void {
    const forgetAt = Date.now() + this.options.retainMs;
    const fresh = ids.filter((id) => !this.revoked.has(id));
    for (const id of ids) this.revoked.set(id, forgetAt);
    if (fresh.length === 0) return;
    for (const listener of this.listeners) {
      try {
        listener(fresh);
      } catch (error) {
        this.options.logger.error({ err: error }, 'a revocation listener failed');
      }
    }
  }

  private async sync(): Promise<void> {
    try {
      // The first page re-reads a margin before the cursor; later pages follow the exact keyset.
      let position: { since: string; after?: string } = { since: new Date(this.cursor - OVERLAP_MS).toISOString() };
      let more = true;
      while (more) {
        const token = await this.options.minter.mint(ANONYMOUS, 'identity');
        const query = new URLSearchParams(position).toString();
        const response = await fetch(`${this.options.identityUrl}/internal/revoked-sessions?${query}`, {
          headers: { authorization: `Bearer ${token}` },
          signal: AbortSignal.timeout(5_000),
        });
        if (!response.ok) throw new Error(`identity answered ${response.status}`);
        const page = (await response.json()) as Page;
        this.add(page.sessions.map((s) => s.id));
        const last = page.sessions.at(-1);
        if (last) {
          this.cursor = Math.max(this.cursor, Date.parse(last.revokedAt));
          position = { since: last.revokedAt, after: last.id };
        }
        more = page.more && last !== undefined;
      }
      this.syncedOnce = true;
      this.forgetExpired();
    } catch (error) {
      const log = this.syncedOnce ? this.options.logger.warn : this.options.logger.debug;
      log.call(this.options.logger, { err: error }, 'could not read revoked sessions from identity; will retry');
    }
  }

  private forgetExpired(): void {
    const now = Date.now();
    for (const [id, forgetAt] of this.revoked) if (forgetAt <= now) this.revoked.delete(id);
  }
}
