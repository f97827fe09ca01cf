// The change log gateways follow: a row per change that can alter someone's permissions, written
// in the change's transaction and announced over pubsub once it committed.
import type { EntityManager } from '@mikro-orm/postgresql';
import type { Logger } from '@citadel/kit/logger';
import type { PubSub } from '@citadel/kit/pubsub';

export const PERMISSIONS_CHANGED_CHANNEL = 'authz.permissions.changed';

/** `userIds: null` means anyone may be affected (a role's permissions changed). */
export interface PermissionsChanged {
  seq: number;
  userIds: string[] | null;
}

export interface ChangesPage {
  /** The newest sequence number; follow-up reads pass it as `after`. */
  seq: number;
  /** Users whose permissions changed after `after`; null: anyone's may have (drop the whole cache). */
  userIds: string[] | null;
}

const KEEP_DAYS = 2;
const MAX_USERS = 1_000;

export class ChangeLog {
  constructor(
    private readonly pubsub: PubSub,
    private readonly logger: Logger,
  ) {}

  /** Records a change inside the caller's transaction; returns what to announce after commit. */
  async record(em: EntityManager, userIds: string[] | null): Promise<PermissionsChanged> {
    // Sequence numbers are handed out at insert, not at commit: without this lock a later number
    // could commit first, a gateway's poll would move past the earlier one and never see it.
    // Held to commit, it makes sequence order commit order.
    await em.execute(`select pg_advisory_xact_lock(hashtext('authz.changes'))`);
    const values = userIds && userIds.length > 0 ? userIds : [null];
    const rows = await em.execute<{ seq: string }[]>(
      `insert into "authz"."changes" ("user_id") values ${values.map(() => '(?::uuid)').join(', ')} returning "seq"`,
      values,
    );
    const seq = Math.max(0, ...rows.map((r) => Number(r.seq)));
    return { seq, userIds };
  }

  /** Best effort: a lost message is caught up by the gateways' poll of `since`. */
  async announce(change: PermissionsChanged): Promise<void> {
    try {
      await this.pubsub.publish(PERMISSIONS_CHANGED_CHANNEL, change);
    } catch (error) {
      this.logger.warn({ err: error }, 'could not publish a permissions change');
    }
  }

  /** What changed after `after`. A cursor older than what is kept answers "anyone". */
  async since(em: EntityManager, after: number): Promise<ChangesPage> {
    const [bounds] = await em.execute<{ min: string | null; max: string | null }[]>(
      `select min("seq") as "min", max("seq") as "max" from "authz"."changes"`,
    );
    const max = Number(bounds?.max ?? 0);
    if (after >= max) return { seq: max, userIds: [] };
    if (after < Number(bounds?.min ?? 0) - 1) return { seq: max, userIds: null };
    const rows = await em.execute<{ user_id: string | null }[]>(
      `select distinct "user_id" from "authz"."changes" where "seq" > ? and "seq" <= ? limit ${MAX_USERS + 1}`,
      [after, max],
    );
    if (rows.length > MAX_USERS || rows.some((r) => r.user_id === null)) return { seq: max, userIds: null };
    return { seq: max, userIds: rows.map((r) => r.user_id!) };
  }

  /** Drops rows older than a gateway could still need. */
  async prune(em: EntityManager): Promise<void> {
    await em.execute(
      `delete from "authz"."changes" where "created_at" < now() - interval '${KEEP_DAYS} days'
         and "seq" < (select max("seq") from "authz"."changes")`,
    );
  }
}
