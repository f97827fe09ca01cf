// Grants: who holds which role where. Changes are logged so every gateway drops its cached copy.
import { randomUUID } from 'node:crypto';
import { UniqueConstraintViolationException, type EntityManager } from '@mikro-orm/postgresql';
import { BUILT_IN_ROLES } from '@citadel/kit/permissions';
import { badUserInput, notFound } from '@citadel/kit/errors';
import { builtInRole, cannotDelegate, lastAdmin } from '../authz.errors';
import type { ChangeLog } from '../changes';
import type { EffectivePermissions } from '../effective-permissions';
import type { Actor } from '../roles/role.service';
import { RoleEntity, type Role } from '../roles/role.entity';
import { GLOBAL_SCOPE, parseScope } from '../scope';
import type { Outbox } from '@citadel/kit/outbox';
import { GrantEntity, type Grant } from './grant.entity';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

export interface GrantInput {
  userId: string;
  roleId: string;
  scope?: string | null;
}

export class GrantService {
  constructor(
    private readonly changes: ChangeLog,
    private readonly effective: EffectivePermissions,
    private readonly outbox: Outbox,
  ) {}

  /**
   * Idempotent: granting what is already held returns the existing grant. Two identical grants
   * racing: the unique index lets one in, and the other returns it.
   */
  async grant(em: EntityManager, actor: Actor, input: GrantInput): Promise<Grant> {
    try {
      return await this.insert(em, actor, input);
    } catch (error) {
      if (!(error instanceof UniqueConstraintViolationException)) throw error;
      em.clear();
      return this.insert(em, actor, input);
    }
  }

  private async insert(em: EntityManager, actor: Actor, input: GrantInput): Promise<Grant> {
    const { userId, scope } = checkInput(input);
    const { grant, change } = await em.transactional(async (tx) => {
      const role = await findRole(tx, input.roleId);
      if (role.name === BUILT_IN_ROLES.user) throw builtInRole(role.name, 'granted (every account holds it)');
      await this.checkDelegation(tx, actor, role);
      const existing = await tx.findOne(GrantEntity, { userId, role, scope }, { populate: ['role'] });
      if (existing) return { grant: existing, change: null };
      const grant = tx.create(GrantEntity, { id: randomUUID(), userId, role, scope, grantedBy: actor.userId, createdAt: new Date() });
      this.outbox.add(tx, { action: 'authz.grant.created', target: { type: 'User', id: userId }, changes: { after: { role: role.name, roleId: role.id, scope } }, actor: serviceActor(actor) });
      await tx.flush();
      return { grant, change: await this.changes.record(tx, [userId]) };
    });
    if (change) await this.changes.announce(change);
    return grant;
  }

  /** Returns whether a grant was removed. The last global admin grant cannot be. */
  async revoke(em: EntityManager, actor: Actor, input: GrantInput): Promise<boolean> {
    const { userId, scope } = checkInput(input);
    const change = await em.transactional(async (tx) => {
      const role = await findRole(tx, input.roleId);
      await this.checkDelegation(tx, actor, role);
      const grant = await tx.findOne(GrantEntity, { userId, role, scope });
      if (!grant) return null;
      if (role.name === BUILT_IN_ROLES.admin && scope === GLOBAL_SCOPE) {
        // Serialize admin revocations so two cannot each see the other's grant as remaining.
        await tx.execute(`select pg_advisory_xact_lock(hashtext('authz.last-admin'))`);
        const admins = await tx.count(GrantEntity, { role, scope: GLOBAL_SCOPE });
        if (admins <= 1) throw lastAdmin();
      }
      tx.remove(grant);
      this.outbox.add(tx, { action: 'authz.grant.revoked', target: { type: 'User', id: userId }, changes: { before: { role: role.name, roleId: role.id, scope } }, actor: serviceActor(actor) });
      await tx.flush();
      return this.changes.record(tx, [userId]);
    });
    if (change) await this.changes.announce(change);
    return change !== null;
  }

  /** The role by name (for operator tools, which name roles rather than hold their ids). */
  async roleNamed(em: EntityManager, name: string): Promise<Role> {
    const role = await em.findOne(RoleEntity, { name: name.trim().toLowerCase() });
    if (!role) throw notFound(`No role named "${name}"`);
    return role;
  }

  forUser(em: EntityManager, userId: string, scope?: string | null): Promise<Grant[]> {
    const where = scope ? { userId, scope: parseScope(scope) } : { userId };
    return em.find(GrantEntity, where, { populate: ['role'], orderBy: { createdAt: 'asc', id: 'asc' } });
  }

  /** Handing out a role means handing out its permissions: the actor must hold them all. */
  private async checkDelegation(em: EntityManager, actor: Actor, role: Role): Promise<void> {
    if (actor.system) return;
    const needed = role.name === BUILT_IN_ROLES.admin ? await this.effective.all(em) : role.permissions;
    const held = new Set(actor.permissions);
    const missing = needed.filter((c) => !held.has(c));
    if (missing.length > 0) throw cannotDelegate(missing);
  }
}

/** A service acting through an internal endpoint is the event's actor; otherwise the request's caller. */
function serviceActor(actor: Actor) {
  return actor.service ? { type: 'service' as const, id: actor.service, sessionId: null } : undefined;
}

function checkInput(input: GrantInput): { userId: string; scope: string } {
  if (!UUID.test(input.userId)) throw badUserInput('userId must be a UUID');
  if (!UUID.test(input.roleId)) throw badUserInput('roleId must be a UUID');
  return { userId: input.userId.toLowerCase(), scope: parseScope(input.scope) };
}

async function findRole(em: EntityManager, id: string): Promise<Role> {
  const role = await em.findOne(RoleEntity, { id });
  if (!role) throw notFound('No such role');
  return role;
}
