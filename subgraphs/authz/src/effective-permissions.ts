// What a user may do in a scope: the permissions of every role they hold there or globally, plus
// the `user` role every account holds; `admin` means every registered permission.
import type { EntityManager } from '@mikro-orm/postgresql';
import { BUILT_IN_ROLES } from '@citadel/kit/permissions';
import { GLOBAL_SCOPE } from './scope';

export interface Effective {
  admin: boolean;
  permissions: string[];
}

export class EffectivePermissions {
  async forUser(em: EntityManager, userId: string, scope: string = GLOBAL_SCOPE): Promise<Effective> {
    const rows = await em.execute<{ name: string; permissions: string[] }[]>(
      `select r."name", r."permissions" from "authz"."roles" r
        where r."name" = ?
           or r."id" in (select g."role_id" from "authz"."grants" g where g."user_id" = ? and g."scope" in (?, ?))`,
      [BUILT_IN_ROLES.user, userId, GLOBAL_SCOPE, scope],
    );
    if (rows.some((r) => r.name === BUILT_IN_ROLES.admin)) return { admin: true, permissions: await this.all(em) };
    return { admin: false, permissions: [...new Set(rows.flatMap((r) => r.permissions))].sort() };
  }

  /** Every registered permission code, sorted. */
  async all(em: EntityManager): Promise<string[]> {
    const rows = await em.execute<{ code: string }[]>(`select "code" from "authz"."permissions" order by "code"`);
    return rows.map((r) => r.code);
  }
}
