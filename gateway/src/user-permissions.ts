// Each user's global permissions from authz, cached on this gateway node. An entry is dropped when
// authz announces a change (pubsub: every node within milliseconds with Redis) and by a poll of
// authz's change log every `pollMs` (catches up after a lost message, a restart, or no Redis).
import type { InternalTokenMinter } from '@citadel/kit/auth';
import { ANONYMOUS } from '@citadel/kit/auth';
import type { Logger } from '@citadel/kit/logger';
import type { PubSub, Unsubscribe } from '@citadel/kit/pubsub';

export const PERMISSIONS_CHANGED_CHANNEL = 'authz.permissions.changed';

export interface UserPermissionsOptions {
  authzUrl: string;
  minter: InternalTokenMinter;
  pubsub: PubSub;
  logger: Logger;
  pollMs: number;
  /** Entries kept at most; the oldest go first. */
  maxEntries?: number;
  /** An entry is reloaded after this long even without a change notice (belt and braces). */
  maxAgeMs?: number;
}

interface Entry {
  permissions: readonly string[];
  loadedAt: number;
}

interface ChangesPage {
  seq: number;
  userIds: string[] | null;
}

const NONE: readonly string[] = Object.freeze([]);

export class UserPermissions {
  private readonly entries = new Map<string, Entry>();
  private readonly loading = new Map<string, Promise<readonly string[]>>();
  /** Bumped by change notices, so a load that raced one is not cached. */
  private epoch = 0;
  private readonly userEpochs = new Map<string, number>();
  private seq: number | undefined;
  private timer: NodeJS.Timeout | undefined;
  private unsubscribe: Unsubscribe | undefined;
  private readonly maxEntries: number;
  private readonly maxAgeMs: number;
  private readonly listeners = new Set<(userIds: string[] | null) => void>();

  constructor(private readonly options: UserPermissionsOptions) {
    this.maxEntries = options.maxEntries ?? 100_000;
    this.maxAgeMs = options.maxAgeMs ?? 5 * 60_000;
  }

  /** True once the change log was read: before that, a cached entry could be stale. */
  get ready(): boolean {
    return this.seq !== undefined;
  }

  /**
   * The user's global permission codes. If authz cannot be reached the answer is "none" (fail
   * closed) and is not cached, so the next request tries again.
   */
  async get(userId: string): Promise<readonly string[]> {
    const entry = this.entries.get(userId);
    if (entry && Date.now() - entry.loadedAt < this.maxAgeMs) return entry.permissions;
    let pending = this.loading.get(userId);
    if (!pending) {
      pending = this.load(userId);
      this.loading.set(userId, pending);
    }
    return pending;
  }

  async start(): Promise<void> {
    this.unsubscribe = await this.options.pubsub.subscribe(PERMISSIONS_CHANGED_CHANNEL, (message) => {
      const userIds = (message as { userIds?: unknown }).userIds;
      this.invalidate(Array.isArray(userIds) ? userIds.filter((id): id is string => typeof id === 'string') : null);
    });
    const tick = async () => {
      await this.poll();
      this.timer = setTimeout(() => void tick(), this.ready ? this.options.pollMs : Math.min(500, this.options.pollMs));
      this.timer.unref();
    };
    await tick();
  }

  async stop(): Promise<void> {
    clearTimeout(this.timer);
    await this.unsubscribe?.();
  }

  /** Told of users whose permissions changed (null: anyone's may have), after their entries are dropped. */
  onChange(listener: (userIds: string[] | null) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** Drops the given users' entries, or every entry for null. Loads in flight are not cached. */
  invalidate(userIds: string[] | null): void {
    this.drop(userIds);
    for (const listener of this.listeners) {
      try {
        listener(userIds);
      } catch (error) {
        this.options.logger.error({ err: error }, 'a permission change listener failed');
      }
    }
  }

  private drop(userIds: string[] | null): void {
    if (userIds === null || this.userEpochs.size > 10_000) {
      this.epoch += 1;
      this.userEpochs.clear();
      this.entries.clear();
      this.loading.clear();
      return;
    }
    for (const id of userIds) {
      this.userEpochs.set(id, (this.userEpochs.get(id) ?? 0) + 1);
      this.entries.delete(id);
      this.loading.delete(id);
    }
  }

  private async load(userId: string): Promise<readonly string[]> {
    const epoch = this.epoch;
    const userEpoch = this.userEpochs.get(userId);
    try {
      const body = await this.request<{ permissions: string[] }>('/internal/effective-permissions', {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ userId }),
      });
      const permissions = Object.freeze([...body.permissions]);
      // Only cache if no change notice for this user arrived while loading.
      if (epoch === this.epoch && userEpoch === this.userEpochs.get(userId)) {
        if (this.entries.size >= this.maxEntries) this.entries.delete(this.entries.keys().next().value!);
        this.entries.set(userId, { permissions, loadedAt: Date.now() });
      }
      return permissions;
    } catch (error) {
      this.options.logger.warn({ err: error, userId }, 'could not load permissions from authz; treating the caller as holding none');
      return NONE;
    } finally {
      if (epoch === this.epoch && userEpoch === this.userEpochs.get(userId)) this.loading.delete(userId);
    }
  }

  private async poll(): Promise<void> {
    try {
      const after = this.seq ?? Number.MAX_SAFE_INTEGER;
      const page = await this.request<ChangesPage>(`/internal/changes?after=${after}`, { method: 'GET' });
      if (this.seq !== undefined && page.seq > this.seq) this.invalidate(page.userIds);
      // authz's log was reset (a new database): nothing cached can be trusted.
      if (this.seq !== undefined && page.seq < this.seq) this.invalidate(null);
      this.seq = page.seq;
    } catch (error) {
      const log = this.ready ? this.options.logger.warn : this.options.logger.debug;
      log.call(this.options.logger, { err: error }, 'could not read permission changes from authz; will retry');
    }
  }

  private async request<T>(path: string, init: RequestInit): Promise<T> {
    const token = await this.options.minter.mint(ANONYMOUS, 'authz');
    const response = await fetch(`${this.options.authzUrl}${path}`, {
      ...init,
      headers: { ...(init.headers as Record<string, string>), authorization: `Bearer ${token}` },
      signal: AbortSignal.timeout(5_000),
    });
    if (!response.ok) throw new Error(`authz answered ${response.status} to ${path}`);
    return (await response.json()) as T;
  }
}
