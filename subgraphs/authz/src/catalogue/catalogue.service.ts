// Registers subgraphs' permission catalogues: an idempotent upsert, safe for replicas starting together.
import type { EntityManager } from '@mikro-orm/postgresql';
import { BUILT_IN_ROLES, PERMISSION_CODE, type PermissionCatalogue } from '@citadel/kit/permissions';
import { badUserInput } from '@citadel/kit/errors';
import type { ChangeLog } from '../changes';
import { PermissionEntity, type Permission } from './permission.entity';

export interface RegisterResult {
  added: string[];
  /** Roles the catalogue names that exist as custom roles: not given the permissions. */
  skippedRoles: string[];
}

export class CatalogueService {
  constructor(private readonly changes: ChangeLog) {}

  async register(em: EntityManager, catalogue: PermissionCatalogue): Promise<RegisterResult> {
    validate(catalogue);
    const result = await em.transactional(async (tx) => {
        // Replicas of one module may register at once; the lock makes "first registration" exact.
      await tx.execute(`select pg_advisory_xact_lock(hashtext('authz.catalogue'))`);
      const codes = Object.keys(catalogue.permissions);
      const existing = new Set(
        (await tx.execute<{ code: string }[]>(
          `select "code" from "authz"."permissions" where "code" in (${codes.map(() => '?').join(', ') || 'null'})`,
          codes,
        )).map((r) => r.code),
      );
      for (const [code, description] of Object.entries(catalogue.permissions)) {
        await tx.execute(
          `insert into "authz"."permissions" ("code", "module", "description") values (?, ?, ?)
           on conflict ("code") do update set "description" = excluded."description", "updated_at" = now()
           where "permissions"."description" <> excluded."description"`,
          [code, catalogue.module, description],
        );
      }
      const added = codes.filter((code) => !existing.has(code));
      const skipped: string[] = [];
      // A default role gets a permission once, when the permission is new: an administrator who
      // later takes it away is not overruled at the next start-up.
      for (const [role, roleCodes] of Object.entries(catalogue.roles)) {
        const fresh = roleCodes.filter((code) => !existing.has(code));
        if (fresh.length === 0) continue;
        // A role a catalogue names is built in (it cannot be deleted or renamed). A custom role an
        // administrator created under that name first is left alone: otherwise whoever holds it
        // would gain the module's permissions without anyone granting them.
        const [updated] = await tx.execute<{ built_in: boolean }[]>(
          `insert into "authz"."roles" ("id", "name", "description", "built_in", "permissions", "module")
           values (gen_random_uuid(), ?, ?, true, ?::text[], ?)
           on conflict ("name") do update set
             "permissions" = array(select distinct unnest("roles"."permissions" || excluded."permissions") order by 1),
             "updated_at" = now()
           where "roles"."built_in"
           returning "built_in"`,
          [role, `Declared by ${catalogue.module}`, `{${fresh.join(',')}}`, role === BUILT_IN_ROLES.user ? null : catalogue.module],
        );
        if (!updated) skipped.push(role);
      }
      const change = added.length > 0 ? await this.changes.record(tx, null) : null;
      return { added, skipped, change };
    });
    if (result.change) await this.changes.announce(result.change);
    return { added: result.added, skippedRoles: result.skipped };
  }

  async list(em: EntityManager, module?: string | null): Promise<Permission[]> {
    return em.find(PermissionEntity, module ? { module } : {}, { orderBy: { code: 'asc' } });
  }
}

function validate(catalogue: PermissionCatalogue): void {
  const problems: string[] = [];
  if (!/^[a-z][a-z0-9-]*$/.test(catalogue.module ?? '')) problems.push('module must be a lower-case name');
  for (const [code, description] of Object.entries(catalogue.permissions ?? {})) {
    if (!PERMISSION_CODE.test(code) || !code.startsWith(`${catalogue.module}.`)) problems.push(`bad code ${code}`);
    if (typeof description !== 'string' || description.length === 0 || description.length > 500) {
      problems.push(`bad description for ${code}`);
    }
  }
  for (const [role, codes] of Object.entries(catalogue.roles ?? {})) {
    if (role === BUILT_IN_ROLES.admin || !/^[a-z][a-z0-9-]{0,63}$/.test(role)) problems.push(`bad role ${role}`);
    for (const code of codes) if (!(code in catalogue.permissions)) problems.push(`role ${role} lists unknown ${code}`);
  }
  if (problems.length > 0) throw badUserInput(`Invalid permission catalogue: ${problems.join('; ')}`);
}
