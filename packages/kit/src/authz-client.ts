// How a subgraph talks to authz: registers its permission catalogue at start-up and asks
// checkPermission(userId, permission, scope), batched per tick and cached for a moment.
import DataLoader from 'dataloader';
import type { Logger } from 'pino';
import type { ServiceTokenMinter } from './auth';
import type { PermissionCatalogue } from './permissions';

export interface AuthzClientOptions {
  /** authz's base URL, e.g. http://127.0.0.1:4002. */
  url: string;
  minter: ServiceTokenMinter;
  logger: Logger;
  /**
   * How long an answer is reused. Kept under a second, the time within which a grant or
   * revocation must take effect everywhere.
   */
  cacheMs?: number;
}

export interface ScopedGrant {
  userId: string;
  /** A role this service's catalogue declares. */
  role: string;
  /** `<type>:<id>`, never `global`. */
  scope: string;
}

interface Check {
  userId: string;
  permission: string;
  scope: string;
}

const MAX_BATCH = 500;

export class AuthzClient {
  private readonly cache = new Map<string, { allowed: boolean; until: number }>();
  private readonly loader: DataLoader<Check, boolean, string>;
  private readonly cacheMs: number;

  constructor(private readonly options: AuthzClientOptions) {
    this.cacheMs = options.cacheMs ?? 500;
    this.loader = new DataLoader((checks) => this.checkMany(checks), {
      cache: false,
      maxBatchSize: MAX_BATCH,
      cacheKeyFn: keyOf,
    });
  }

  /** Whether the user holds the permission in the scope ("global" or "workspace:<id>"). */
  async checkPermission(userId: string, permission: string, scope = 'global'): Promise<boolean> {
    const check = { userId, permission, scope };
    const cached = this.cache.get(keyOf(check));
    if (cached && cached.until > Date.now()) return cached.allowed;
    return this.loader.load(check);
  }

  /** The user's global permissions, as authz computes them now (not cached). */
  async effectivePermissions(userId: string): Promise<string[]> {
    const { permissions } = await this.post<{ permissions: string[] }>('/internal/effective-permissions', { userId });
    return permissions;
  }

  /**
   * Grants and revokes scoped roles this service's catalogue declares (e.g. workspaces makes the
   * creator of `workspace:<id>` its `workspace-owner`). Global grants are for administrators only.
   * Idempotent; the change reaches every gateway within a second, like any grant.
   */
  async setGrants(changes: { grant?: ScopedGrant[]; revoke?: ScopedGrant[] }): Promise<void> {
    await this.post('/internal/grants', { grant: changes.grant ?? [], revoke: changes.revoke ?? [] });
    // Answers cached here may now be wrong for these users.
    const users = new Set([...(changes.grant ?? []), ...(changes.revoke ?? [])].map((g) => g.userId));
    for (const key of [...this.cache.keys()]) if (users.has(key.slice(0, key.indexOf('|')))) this.cache.delete(key);
  }

  /**
   * Registers the catalogue, retrying with backoff until authz accepts it (authz may start after
   * this service). Resolves once registered; `stop()` ends the retries.
   */
  registerCatalogue(catalogue: PermissionCatalogue): { registered: Promise<void>; stop: () => void } {
    let stopped = false;
    let timer: NodeJS.Timeout | undefined;
    const registered = new Promise<void>((resolve) => {
      const attempt = async (delayMs: number) => {
        if (stopped) return;
        try {
          const result = await this.post<{ added: string[]; skippedRoles: string[] }>('/internal/catalogue', catalogue);
          this.options.logger.info({ module: catalogue.module, added: result.added }, 'permission catalogue registered with authz');
          if (result.skippedRoles.length > 0) {
            this.options.logger.warn(
              { roles: result.skippedRoles },
              'custom roles of these names already exist: they were not given this module\'s default permissions',
            );
          }
          resolve();
        } catch (error) {
          const log = delayMs >= 4_000 ? this.options.logger.warn : this.options.logger.debug;
          log.call(this.options.logger, { err: error }, 'could not register the permission catalogue with authz yet; retrying');
          timer = setTimeout(() => void attempt(Math.min(delayMs * 2, 30_000)), delayMs);
          timer.unref();
        }
      };
      void attempt(250);
    });
    return {
      registered,
      stop: () => {
        stopped = true;
        clearTimeout(timer);
      },
    };
  }

  private async checkMany(checks: readonly Check[]): Promise<boolean[]> {
    const { results } = await this.post<{ results: boolean[] }>('/internal/check', { checks });
    const until = Date.now() + this.cacheMs;
    if (this.cache.size > 50_000) this.cache.clear();
    checks.forEach((check, i) => this.cache.set(keyOf(check), { allowed: results[i] === true, until }));
    return checks.map((_, i) => results[i] === true);
  }

  private async post<T>(path: string, body: unknown): Promise<T> {
    const response = await fetch(`${this.options.url}${path}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${await this.options.minter.mint('authz')}` },
      body: JSON.stringify(body),
      signal: AbortSignal.timeout(5_000),
    });
    if (!response.ok) throw new Error(`authz answered ${response.status} to ${path}: ${(await response.text()).slice(0, 300)}`);
    return (await response.json()) as T;
  }
}

function keyOf(check: Check): string {
  return `${check.userId}|${check.scope}|${check.permission}`;
}
